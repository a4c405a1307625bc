using System.Buffers;
using System.Net.WebSockets;

namespace Facilitator.Fast.Events;

/// <summary>
/// The receiving half of a connection: it waits for data without holding a buffer (a zero-byte receive), then reads
/// one message into a pooled buffer of at most <c>MaxInboundMessageBytes</c> and answers it — a confirmation, a pong,
/// or an <c>error</c> frame. Nothing the client sends raises an exception out of here; too many bad messages close the
/// connection with 1008.
/// </summary>
internal sealed class EventReceiver(WebSocket socket, Subscriber subscriber, EventHub hub, EventsOptions options, ILogger logger)
{
    /// <summary>Client messages per second a connection may send; more are bad frames.</summary>
    private const int MaxMessagesPerSecond = 20;

    /// <summary>An oversized message is read and thrown away up to this much; a client that sends more is closed (1009).</summary>
    private const long MaxDiscardedBytes = 1024 * 1024;

    private readonly TimeProvider _time = hub.Time;
    private int _badFrames;
    private long _windowStart;
    private int _windowMessages;

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task RunAsync()
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

                if (waited.EndOfMessage)
                {
                    // An empty message: nothing left to read.
                    Answer(waited.MessageType, default, tooLarge: false);
                    continue;
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
        catch (Exception ex) when (EventConnection.IsConnectionFault(ex))
        {
            EventConnection.ConnectionFault(logger, subscriber.ClientId, "receive", ex.GetType().Name);
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
                subscriber.Enqueue(ControlFrames.Pong(Now));
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
        subscriber.Enqueue(ControlFrames.Subscription(request.Type == ClientMessageType.Subscribe, state, Now));
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

        subscriber.Enqueue(ControlFrames.Error(code, problem, Now));
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
}
