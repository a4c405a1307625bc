using System.Net.WebSockets;

namespace Facilitator.Fast.Events;

/// <summary>
/// One connected client as the hub sees it: its subscription (swapped whole), its bounded queue of frames, and why it
/// is being closed. The pump offers frames; the connection's send loop drains them; nothing here waits.
/// </summary>
/// <remarks>
/// The queue holds references to shared frames: every frame that leaves it — sent, dropped as the oldest, or left
/// behind at close — is released exactly once, so a slow or dead client holds at most its queue's worth of buffers.
/// </remarks>
internal sealed class Subscriber
{
    private readonly FrameQueue _queue;
    private readonly EventStatistics _statistics;
    private readonly TimeProvider _time;
    private readonly WebSocket? _socket;
    private volatile SubscriptionState _state = SubscriptionState.Default;
    private CloseRequest? _close;
    private long _pendingDropped;
    private int _lagged;
    private long _sendStartedAt;
    private volatile bool _hasSubscribed;

    public Subscriber(string clientId, int capacity, SlowConsumerPolicy policy, EventStatistics statistics, TimeProvider time, WebSocket? socket = null)
    {
        _socket = socket;
        ClientId = clientId;
        ConnectedAt = time.GetTimestamp();
        _statistics = statistics;
        _time = time;
        _queue = new FrameQueue(capacity, dropOldest: policy == SlowConsumerPolicy.DropOldest);
    }

    public string ClientId { get; }

    /// <summary>When it connected (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long ConnectedAt { get; }

    public SubscriptionState State
    {
        get => _state;
        set => _state = value;
    }

    /// <summary>Whether it has sent a valid subscribe or unsubscribe (connections that never do time out).</summary>
    public bool HasSubscribed
    {
        get => _hasSubscribed;
        set => _hasSubscribed = value;
    }

    /// <summary>Frames waiting to be sent; never more than the queue's capacity.</summary>
    public int Queued => _queue.Count;

    public FrameQueue Frames => _queue;

    /// <summary>Why and since when it is being closed; null while it is not.</summary>
    public CloseRequest? Closing => Volatile.Read(ref _close);

    /// <summary>When the send under way began (<see cref="TimeProvider.GetTimestamp"/>), 0 when none is.</summary>
    public long SendStartedAt => Volatile.Read(ref _sendStartedAt);

    /// <summary>
    /// Queues a frame the caller holds a reference for; false when it was not taken (closing, or full under the
    /// <c>Close</c> policy, which closes it) — the caller then keeps, and releases, its reference.
    /// </summary>
    public bool Offer(EventFrame frame)
    {
        if (_queue.TryWrite(frame, out var dropped))
        {
            if (dropped is not null)
            {
                OnDropped(dropped);
            }

            return true;
        }

        if (Closing is null)
        {
            _statistics.CountSlowClosed();
            CountLagged();
            RequestClose(CloseRequest.TryAgainLater, "too slow: the send queue is full", flush: false);
        }

        return false;
    }

    /// <summary>Queues a frame made for this client alone; one that is not taken is released here.</summary>
    public void Enqueue(EventFrame frame)
    {
        if (!Offer(frame))
        {
            frame.Release();
        }
    }

    /// <summary>Whether events were dropped since the last <c>lagged</c> notice.</summary>
    public bool HasDropped => Volatile.Read(ref _pendingDropped) != 0;

    /// <summary>Events dropped since the last <c>lagged</c> notice; resets the count.</summary>
    public long TakeDropped() => Volatile.Read(ref _pendingDropped) == 0 ? 0 : Interlocked.Exchange(ref _pendingDropped, 0);

    public void SendStarted(long timestamp) => Volatile.Write(ref _sendStartedAt, timestamp);

    public void SendEnded() => Volatile.Write(ref _sendStartedAt, 0);

    /// <summary>Asks the connection to close with <paramref name="status"/>; the first request stands.</summary>
    /// <param name="flush">Send what is queued first (see <see cref="CloseRequest.Flush"/>).</param>
    public void RequestClose(WebSocketCloseStatus status, string reason, bool flush = true)
    {
        if (Interlocked.CompareExchange(ref _close, new CloseRequest(status, reason, _time.GetTimestamp(), flush), null) is null)
        {
            _queue.Complete();
        }
    }

    /// <summary>Cuts the connection at once (a send that stalled, a close the peer never completed); its loops then end.</summary>
    public void Abort() => _socket?.Abort();

    /// <summary>Releases what is still queued, once the connection is gone (nothing can be queued after <see cref="RequestClose"/>).</summary>
    public void ReleaseQueued()
    {
        _queue.Complete();
        while (_queue.TryRead(out var frame))
        {
            frame.Release();
        }
    }

    private void OnDropped(EventFrame frame)
    {
        frame.Release();
        Interlocked.Increment(ref _pendingDropped);
        _statistics.CountDropped();
        CountLagged();
    }

    private void CountLagged()
    {
        if (Interlocked.Exchange(ref _lagged, 1) == 0)
        {
            _statistics.CountLaggedClient();
        }
    }
}
