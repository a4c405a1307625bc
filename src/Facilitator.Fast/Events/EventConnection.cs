using System.Buffers;
using System.Net.WebSockets;

namespace Facilitator.Fast.Events;

/// <summary>
/// One client's WebSocket: a send loop that drains its queue (telling the client how many events it missed, at the
/// gap, when it fell behind), and a receive loop that waits for data without holding a buffer (a zero-byte receive), then reads one
/// message into a pooled buffer of at most <c>MaxInboundMessageBytes</c> and answers it. Nothing the client sends can
/// raise an exception out of here; too many bad messages close the connection with 1008.
/// </summary>
/// <param name="stream">The connection's stream when it can batch writes (HTTP/1.1), else null.</param>
internal sealed partial class EventConnection(
    WebSocket socket, Subscriber subscriber, EventHub hub, EventsOptions options, ILogger logger, CoalescingStream? stream = null)
{
    /// <summary>Frames gathered into one write at most.</summary>
    private const int MaxBatchFrames = 64;

    /// <summary>A close handshake the peer does not complete within this is cut short.</summary>
    public static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Client messages per second a connection may send; more are bad frames.</summary>
    private const int MaxMessagesPerSecond = 20;

    /// <summary>An oversized message is read and thrown away up to this much; a client that sends more is closed (1009).</summary>
    private const long MaxDiscardedBytes = 1024 * 1024;

    private readonly TimeProvider _time = hub.Time;
    private int _badFrames;
    private long _windowStart;
    private int _windowMessages;

    public async Task RunAsync()
    {
        Offer(ControlFrames.Connected(subscriber.ClientId, subscriber.State, Now));
        var sending = SendLoopAsync();
        var receiving = ReceiveLoopAsync();
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
    private async ValueTask SendQueuedAsync(System.Threading.Channels.ChannelReader<EventFrame> frames)
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

    /// <summary>Sends one frame and releases this connection's reference to it, whatever happens.</summary>
    private async ValueTask SendAsync(EventFrame frame)
    {
        subscriber.SendStarted(_time.GetTimestamp());
        try
        {
            await socket.SendAsync(frame.Json, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            hub.Statistics.CountDelivered();
        }
        finally
        {
            subscriber.SendEnded();
            frame.Release();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                // No buffer is held while the client is silent: the receive returns once a frame has begun to arrive.
                var waited = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
                if (waited.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var buffer = ArrayPool<byte>.Shared.Rent(options.MaxInboundMessageBytes);
                try
                {
                    if (!await ReceiveMessageAsync(buffer).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception ex) when (IsConnectionFault(ex))
        {
            ConnectionFault(logger, subscriber.ClientId, "receive", ex.GetType().Name);
        }
    }

    /// <summary>Reads one message and answers it; false when the client closed.</summary>
    private async ValueTask<bool> ReceiveMessageAsync(byte[] buffer)
    {
        var limit = options.MaxInboundMessageBytes;
        var length = 0;
        long discarded = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            var tooLarge = length == limit;
            result = await socket.ReceiveAsync(tooLarge ? buffer.AsMemory(0, limit) : buffer.AsMemory(length, limit - length), CancellationToken.None)
                .ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return false;
            }

            if (tooLarge)
            {
                discarded += result.Count;
                if (discarded > MaxDiscardedBytes)
                {
                    hub.Statistics.CountBadFrame();
                    subscriber.RequestClose(WebSocketCloseStatus.MessageTooBig, "message too large");
                    return true;
                }
            }
            else
            {
                length += result.Count;
            }
        }
        while (!result.EndOfMessage);

        if (subscriber.Closing is null)
        {
            Answer(result.MessageType, buffer.AsSpan(0, length), tooLarge: discarded > 0);
        }

        return true;
    }

    private void Answer(WebSocketMessageType type, ReadOnlySpan<byte> message, bool tooLarge)
    {
        if (!WithinRate())
        {
            Bad("rate_limited", $"At most {MaxMessagesPerSecond} messages a second.");
        }
        else if (tooLarge)
        {
            Bad("message_too_large", $"Messages are limited to {options.MaxInboundMessageBytes} bytes.");
        }
        else if (type != WebSocketMessageType.Text)
        {
            Bad("binary_not_supported", "Only text messages (JSON) are understood.");
        }
        else if (!ClientMessage.TryRead(message, out var request, out var code, out var problem))
        {
            Bad(code, problem);
        }
        else
        {
            Apply(request);
        }
    }

    private void Apply(in ClientMessage request)
    {
        var state = subscriber.State;
        switch (request.Type)
        {
            case ClientMessageType.Ping:
                Offer(ControlFrames.Pong(Now));
                return;
            case ClientMessageType.Subscribe:
                state = request.HasFilter
                    ? new SubscriptionState(state.Channels | request.Channels, request.Network, request.Payee)
                    : state with { Channels = state.Channels | request.Channels };
                break;
            default:
                state = state with { Channels = state.Channels & ~request.Channels };
                break;
        }

        subscriber.State = state;
        subscriber.HasSubscribed = true;
        Offer(ControlFrames.Subscription(request.Type == ClientMessageType.Subscribe, state, Now));
    }

    /// <summary>Answers a bad message with an <c>error</c> frame; past <c>MaxBadFrames</c>, closes with 1008 instead.</summary>
    private void Bad(string code, string problem)
    {
        hub.Statistics.CountBadFrame();
        if (++_badFrames > options.MaxBadFrames)
        {
            subscriber.RequestClose(WebSocketCloseStatus.PolicyViolation, "too many invalid messages");
            return;
        }

        Offer(ControlFrames.Error(code, problem, Now));
    }

    private bool WithinRate()
    {
        var now = _time.GetTimestamp();
        if (_windowMessages == 0 || _time.GetElapsedTime(_windowStart, now) >= TimeSpan.FromSeconds(1))
        {
            _windowStart = now;
            _windowMessages = 0;
        }

        return ++_windowMessages <= MaxMessagesPerSecond;
    }

    private void Offer(EventFrame frame)
    {
        if (!subscriber.Offer(frame))
        {
            frame.Release();
        }
    }

    private static bool IsConnectionFault(Exception ex) =>
        ex is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException;

    [LoggerMessage(EventId = 6010, Level = LogLevel.Debug, Message = "[Events] client {ClientId}: the connection ended during a {Operation} ({ExceptionType})")]
    private static partial void ConnectionFault(ILogger logger, string clientId, string operation, string exceptionType);
}
