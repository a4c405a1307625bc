using System.Threading.Channels;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Analytics;

/// <summary>
/// Counts every settlement this instance owns — <c>/settle</c> and <c>/v1</c> alike, since the coordinator tells its
/// observers of both — by reading a sample from the request and queueing it for <see cref="AnalyticsWriter"/>. The
/// settle path never waits on the store: the queue is bounded, and when it is full a sample is dropped, counted, and
/// warned about at most once a minute.
/// </summary>
internal sealed partial class SettlementAnalytics : ISettlementObserver
{
    /// <summary>Samples waiting for the writer; beyond this many (a store that stopped answering) new ones are dropped.</summary>
    public const int QueueCapacity = 10_000;

    private const long WarningIntervalMs = 60_000;

    private readonly Channel<AnalyticsSample> _queue = Channel.CreateBounded<AnalyticsSample>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly FeeSchedule _fees;
    private readonly TimeProvider _time;
    private readonly ILogger<SettlementAnalytics> _logger;
    private long _accepted;
    private long _dropped;
    private long _unreadable;
    private long _lastWarningMs = -WarningIntervalMs;

    public SettlementAnalytics(FeeSchedule fees, TimeProvider time, ILogger<SettlementAnalytics> logger)
    {
        _fees = fees;
        _time = time;
        _logger = logger;
    }

    /// <summary>Samples queued for the store since start.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Samples dropped because the queue was full (or closed at shutdown), or lost after the store failed them.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Settled requests the analytics could not read (no network, asset or amount they can count).</summary>
    public long Unreadable => Interlocked.Read(ref _unreadable);

    /// <summary>The queue the writer drains.</summary>
    public ChannelReader<AnalyticsSample> Samples => _queue.Reader;

    /// <summary>Samples queued and not yet written.</summary>
    public int Queued => _queue.Reader.Count;

    public void Settled(ReadOnlySpan<byte> request, string upstreamId, ReadOnlySpan<byte> answer, TimeSpan elapsed)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!SettlementSampleReader.TryRead(request, _fees, (long)Math.Round(elapsed.TotalMilliseconds), now, out var sample))
        {
            Interlocked.Increment(ref _unreadable);
            return;
        }

        if (_queue.Writer.TryWrite(sample))
        {
            Interlocked.Increment(ref _accepted);
        }
        else
        {
            Drop(1, "the analytics queue is full");
        }
    }

    /// <summary>Stops taking samples (at shutdown, once settles in flight have finished); the writer drains what is queued.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>Counts samples lost, warning at most once a minute with the total so far.</summary>
    internal void Drop(long count, string reason)
    {
        var total = Interlocked.Add(ref _dropped, count);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var last = Interlocked.Read(ref _lastWarningMs);
        if (now - last >= WarningIntervalMs && Interlocked.CompareExchange(ref _lastWarningMs, now, last) == last)
        {
            SamplesDropped(_logger, reason, total);
        }
    }

    [LoggerMessage(EventId = 5100, Level = LogLevel.Warning, Message = "[Analytics] settlements not counted: {Reason}; {Total} dropped since start (the settlements themselves are unaffected)")]
    private static partial void SamplesDropped(ILogger logger, string reason, long total);
}
