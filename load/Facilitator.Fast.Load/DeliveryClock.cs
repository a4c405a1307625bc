using System.Diagnostics;
using HdrHistogram;

namespace Facilitator.Fast.Load;

/// <summary>
/// When each payment of an event-stream run was triggered, and how long its events took to reach each subscriber:
/// latency is measured from the moment the verify that produces the event was sent to the moment a subscriber has
/// read the event, so it includes the request, the publish, the fan-out and the client's own reading.
/// </summary>
internal sealed class DeliveryClock
{
    private readonly Dictionary<Guid, int> _indexOf;
    private readonly long[] _triggeredAt;
    private long _first;
    private long _last;

    public DeliveryClock(IReadOnlyList<Guid> paymentIds)
    {
        _indexOf = new Dictionary<Guid, int>(paymentIds.Count);
        for (var i = 0; i < paymentIds.Count; i++)
        {
            _indexOf.Add(paymentIds[i], i);
        }

        _triggeredAt = new long[paymentIds.Count];
    }

    /// <summary>Delivery latency in microseconds, across every subscriber.</summary>
    public LongConcurrentHistogram Latency { get; } = new(1, TimeStamp.Seconds(60), 3);

    /// <summary>The time from the first trigger to the last delivery.</summary>
    public TimeSpan Span => Stopwatch.GetElapsedTime(Volatile.Read(ref _first), Volatile.Read(ref _last));

    public void Triggered(long index)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.CompareExchange(ref _first, now, 0);
        Volatile.Write(ref _triggeredAt[index], now);
    }

    /// <summary>Records one delivery of <paramref name="paymentId"/>'s event; false when it is not a payment of this run.</summary>
    public bool Delivered(Guid paymentId)
    {
        if (!_indexOf.TryGetValue(paymentId, out var index))
        {
            return false;
        }

        var now = Stopwatch.GetTimestamp();
        var triggered = Volatile.Read(ref _triggeredAt[index]);
        if (triggered != 0)
        {
            Latency.RecordValue(Math.Max((long)Stopwatch.GetElapsedTime(triggered, now).TotalMicroseconds, 1));
        }

        long last;
        do
        {
            last = Volatile.Read(ref _last);
        }
        while (now > last && Interlocked.CompareExchange(ref _last, now, last) != last);

        return true;
    }
}
