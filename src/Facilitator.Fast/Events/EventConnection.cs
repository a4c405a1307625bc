using System.Net.WebSockets;

namespace Facilitator.Fast.Events;

/// <summary>
/// One client's WebSocket, from the welcome to the close: a send loop that drains its queue (several frames as one
/// write; where events were dropped, a <c>lagged</c> notice at the gap), beside the <see cref="EventReceiver"/> that
/// answers what the client sends. Whichever ends first, the other is brought to an end, a close handshake the peer does
/// not complete within <see cref="CloseTimeout"/> is cut.
/// </summary>
/// <param name="stream">The connection's stream when it can batch writes (HTTP/1.1), else null.</param>
internal sealed partial class EventConnection(
    WebSocket socket, Subscriber subscriber, EventHub hub, EventsOptions options, ILogger logger, CoalescingStream? stream = null)
{
    /// <summary>Frames gathered into one write at most.</summary>
    private const int MaxBatchFrames = 64;

    /// <summary>A close handshake the peer does not complete within this is cut short.</summary>
    public static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time = hub.Time;

    public async Task RunAsync()
    {
        stream?.WentDirect = hub.Statistics.CountDirectConnection;
        subscriber.Enqueue(ControlFrames.Connected(subscriber.ClientId, subscriber.State, Now));
        var sending = SendLoopAsync();
        var receiving = new EventReceiver(socket, subscriber, hub, options, logger).RunAsync();
        if (await Task.WhenAny(sending, receiving).ConfigureAwait(false) == receiving)
        {
            // The client closed (echoed back), the connection broke, or it is being closed: the send loop finishes with a close.
            subscriber.RequestClose(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, socket.CloseStatusDescription ?? "", flush: false);
        }

        var both = Task.WhenAll(sending, receiving);
        if (await Task.WhenAny(both, Task.Delay(CloseTimeout, _time)).ConfigureAwait(false) != both)
        {
            socket.Abort();
            await both.ConfigureAwait(false);
        }
    }

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task SendLoopAsync()
    {
        var frames = subscriber.Frames;
        try
        {
            // Once a close is asked for, nothing more can be queued: what is queued is sent first when the close says so.
            while (subscriber.Closing is not { Flush: false })
            {
                if (frames.Count == 0 && !(subscriber.Closing is null && subscriber.HasDropped))
                {
                    if (stream is not null && subscriber.HasSubscribed && subscriber.Closing is null)
                    {
                        // Idle once subscribed: a moment to prove Kestrel's pipe empty, for the writes to move to the socket
                        // before its first event rather than during the first fan-outs. A connection that has not subscribed
                        // is left alone (it may never carry an event).
                        await stream.ProbeAsync().ConfigureAwait(false);
                    }

                    if (!await frames.WaitToReadAsync().ConfigureAwait(false))
                    {
                        break;
                    }

                    continue;
                }

                // Several frames waiting: the WebSocket's writes for them reach the socket as one.
                var batch = stream is not null && frames.Count > 1;
                if (batch)
                {
                    await stream!.BeginBatchAsync().ConfigureAwait(false);
                }

                try
                {
                    await SendQueuedAsync(frames).ConfigureAwait(false);
                }
                finally
                {
                    if (batch)
                    {
                        await EndBatchAsync().ConfigureAwait(false);
                    }
                }
            }

            if (subscriber.Closing is { } close && socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseOutputAsync(close.Status, close.Reason, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsConnectionFault(ex))
        {
            subscriber.RequestClose(WebSocketCloseStatus.EndpointUnavailable, "", flush: false);
            ConnectionFault(logger, subscriber.ClientId, "send", ex.GetType().Name);
        }
    }

    /// <summary>
    /// Sends what is queued, up to a batch: where events were dropped from the head of the queue, first a <c>lagged</c>
    /// notice with how many (the client learns where the gap is).
    /// </summary>
    private async ValueTask SendQueuedAsync(FrameQueue frames)
    {
        for (var sent = 0; sent < MaxBatchFrames && subscriber.Closing is not { Flush: false }; sent++)
        {
            if (subscriber.Closing is null && subscriber.TakeDropped() is > 0 and var dropped)
            {
                await SendAsync(ControlFrames.Lagged(dropped, Now)).ConfigureAwait(false);
            }
            else if (frames.TryRead(out var frame))
            {
                await SendAsync(frame).ConfigureAwait(false);
            }
            else
            {
                return;
            }
        }
    }

    /// <summary>Writes a batch out; a peer that does not take it stalls here, where the send timeout watches.</summary>
    private async ValueTask EndBatchAsync()
    {
        subscriber.SendStarted(_time.GetTimestamp());
        try
        {
            await stream!.EndBatchAsync().ConfigureAwait(false);
        }
        finally
        {
            subscriber.SendEnded();
        }
    }

    /// <summary>
    /// Sends one frame and releases this connection's reference to it, whatever happens. Over HTTP/1.1 the frame's own
    /// WebSocket bytes go to the connection's stream as they are — one write, which the stream keeps whole beside the
    /// WebSocket's pings and close — rather than through the WebSocket, which would frame the same message again for
    /// each recipient.
    /// </summary>
    private async ValueTask SendAsync(EventFrame frame)
    {
        subscriber.SendStarted(_time.GetTimestamp());
        try
        {
            if (stream is null)
            {
                await socket.SendAsync(frame.Json, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
                {
                    throw new WebSocketException(WebSocketError.InvalidState);
                }

                await stream.WriteAsync(frame.Wire, CancellationToken.None).ConfigureAwait(false);
            }

            hub.Statistics.CountDelivered();
        }
        finally
        {
            subscriber.SendEnded();
            frame.Release();
        }
    }

    /// <summary>
    /// What ends a connection rather than reveals a defect: the peer went away, the socket was aborted or closed.
    /// </summary>
    internal static bool IsConnectionFault(Exception ex) =>
        ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException;

    [LoggerMessage(EventId = 6010, Level = LogLevel.Debug, Message = "[Events] client {ClientId}: the connection ended during a {Operation} ({ExceptionType})")]
    internal static partial void ConnectionFault(ILogger logger, string clientId, string operation, string exceptionType);
}
