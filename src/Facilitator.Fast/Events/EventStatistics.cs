namespace Facilitator.Fast.Events;

/// <summary>The event stream's counters since start, for the status API. Interlocked, no locks.</summary>
internal sealed class EventStatistics
{
    private long _published;
    private long _received;
    private long _publishDropped;
    private long _delivered;
    private long _dropped;
    private long _laggedClients;
    private long _slowClosed;
    private long _badFrames;
    private long _refused;
    private long _relayFailures;
    private long _directConnections;

    /// <summary>Events this instance produced and fanned out (its payments, errors and stats).</summary>
    public long Published => Volatile.Read(ref _published);

    /// <summary>Events other instances published that reached this one through Redis.</summary>
    public long ReceivedFromOthers => Volatile.Read(ref _received);

    /// <summary>Events dropped before fan-out because the publish queue was full (the request path never waits).</summary>
    public long PublishDropped => Volatile.Read(ref _publishDropped);

    /// <summary>Messages written to subscribers' sockets.</summary>
    public long Delivered => Volatile.Read(ref _delivered);

    /// <summary>Messages dropped from the queues of subscribers that did not keep up.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Connections that fell behind at least once (events dropped, or closed as too slow).</summary>
    public long LaggedClients => Volatile.Read(ref _laggedClients);

    /// <summary>Connections closed with 1013 because they did not keep up (<c>SlowConsumerPolicy=Close</c>) or a send stalled.</summary>
    public long SlowClosed => Volatile.Read(ref _slowClosed);

    /// <summary>Client messages refused with an <c>error</c> frame.</summary>
    public long BadFrames => Volatile.Read(ref _badFrames);

    /// <summary>Upgrades refused with 429 (connection limits) or 503 (shutting down).</summary>
    public long Refused => Volatile.Read(ref _refused);

    /// <summary>Events that could not be published to Redis (delivered locally all the same).</summary>
    public long RelayFailures => Volatile.Read(ref _relayFailures);

    /// <summary>Connections whose writes moved from Kestrel's output pipe to the socket itself (<c>Events:DirectWrites</c>).</summary>
    public long DirectConnections => Volatile.Read(ref _directConnections);

    public void CountDirectConnection() => Interlocked.Increment(ref _directConnections);

    public void CountPublished() => Interlocked.Increment(ref _published);

    public void CountReceived() => Interlocked.Increment(ref _received);

    public void CountPublishDropped() => Interlocked.Increment(ref _publishDropped);

    public void CountDelivered() => Interlocked.Increment(ref _delivered);

    public void CountDropped() => Interlocked.Increment(ref _dropped);

    public void CountLaggedClient() => Interlocked.Increment(ref _laggedClients);

    public void CountSlowClosed() => Interlocked.Increment(ref _slowClosed);

    public void CountBadFrame() => Interlocked.Increment(ref _badFrames);

    public void CountRefused() => Interlocked.Increment(ref _refused);

    public void CountRelayFailure() => Interlocked.Increment(ref _relayFailures);
}
