using System.Buffers.Text;
using System.Net.WebSockets;
using System.Text;

namespace Facilitator.Fast.Load;

/// <summary>
/// One subscriber of the event stream in a load run, as a dashboard would be: a raw WebSocket subscribed to
/// <c>payments</c> that reads every frame as it comes, and hands the id of each payment event to the
/// <see cref="DeliveryClock"/> that knows when that payment was triggered.
/// </summary>
internal sealed class EventSubscriber : IDisposable
{
    private static readonly byte[] Subscribe = Encoding.UTF8.GetBytes("""{"type":"subscribe","channels":["payments"]}""");

    private static ReadOnlySpan<byte> LaggedPrefix => """{"type":"lagged","data":{"dropped":"""u8;

    private readonly ClientWebSocket _socket = new();
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _events;
    private long _dropped;
    private int _lagged;

    /// <summary>Payment events of the run received.</summary>
    public long Events => Volatile.Read(ref _events);

    /// <summary>Whether the service told this subscriber it fell behind (it did not keep up).</summary>
    public bool Lagged => Volatile.Read(ref _lagged) != 0;

    /// <summary>Events the service dropped for this subscriber, from its <c>lagged</c> notices.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Why the receive loop ended before it was asked to, if it did.</summary>
    public string? Failure { get; private set; }

    /// <summary>Completes when the service has answered the subscription.</summary>
    public Task Subscribed => _subscribed.Task;

    public async Task ConnectAsync(Uri uri, CancellationToken cancellationToken)
    {
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await _socket.ConnectAsync(uri, cancellationToken);
        await _socket.SendAsync(Subscribe, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
    }

    /// <summary>Reads until the socket closes or <paramref name="cancellationToken"/> fires.</summary>
    public async Task ReceiveAsync(DeliveryClock clock, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var length = 0;
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Failure = $"closed by the service: {_socket.CloseStatus} {_socket.CloseStatusDescription}";
                    return;
                }

                length += result.Count;
                if (!result.EndOfMessage)
                {
                    if (length == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    continue;
                }

                Take(buffer.AsSpan(0, length), clock);
                length = 0;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (WebSocketException ex)
        {
            Failure = ex.Message;
        }
    }

    private void Take(ReadOnlySpan<byte> message, DeliveryClock clock)
    {
        if (message.StartsWith("""{"type":"payment:"""u8))
        {
            var at = message.IndexOf("\"paymentId\":\""u8);
            if (at >= 0 && Utf8Parser.TryParse(message[(at + "\"paymentId\":\"".Length)..], out Guid id, out _, 'D') && clock.Delivered(id))
            {
                Interlocked.Increment(ref _events);
            }
        }
        else if (message.StartsWith(LaggedPrefix))
        {
            Volatile.Write(ref _lagged, 1);
            if (Utf8Parser.TryParse(message[LaggedPrefix.Length..], out long dropped, out _))
            {
                Interlocked.Add(ref _dropped, dropped);
            }
        }
        else if (message.StartsWith("""{"type":"subscribed"""u8))
        {
            _subscribed.TrySetResult();
        }
    }

    public void Dispose()
    {
        _socket.Abort();
        _socket.Dispose();
    }
}
