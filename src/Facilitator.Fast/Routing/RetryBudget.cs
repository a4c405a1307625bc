namespace Facilitator.Fast.Routing;

/// <summary>
/// Bounds the extra requests that retries and hedges add to a fleet: over a sliding window, at most
/// <c>ratio × requests + minimum</c> extra attempts, so a slow or failing fleet is not hit with a storm.
/// </summary>
/// <remarks>
/// Ten one-second buckets of (requests, extras) counters, reused round-robin: a bucket whose second has passed is
/// reset by the first writer of its new second. Counting is approximate under races (a reset may lose a few
/// increments), which is harmless for a budget.
/// </remarks>
public sealed class RetryBudget
{
    private const int Buckets = 10;
    private readonly Bucket[] _buckets = new Bucket[Buckets];
    private readonly double _ratio;
    private readonly int _minimum;
    private readonly TimeProvider _time;

    public RetryBudget(double ratio, int minimumPerWindow, TimeProvider time)
    {
        _ratio = ratio;
        _minimum = minimumPerWindow;
        _time = time;
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = new Bucket();
        }
    }

    /// <summary>Counts a routed call: each one earns <c>ratio</c> extra attempts.</summary>
    public void RecordRequest() => Interlocked.Increment(ref BucketFor(Second()).Requests);

    /// <summary>Takes one extra attempt from the budget; false when the window's extras are spent.</summary>
    public bool TryAcquireExtra()
    {
        var second = Second();
        long requests = 0, extras = 0;
        foreach (var bucket in _buckets)
        {
            if (Volatile.Read(ref bucket.Second) > second - Buckets)
            {
                requests += Volatile.Read(ref bucket.Requests);
                extras += Volatile.Read(ref bucket.Extras);
            }
        }

        if (extras + 1 > (requests * _ratio) + _minimum)
        {
            return false;
        }

        Interlocked.Increment(ref BucketFor(second).Extras);
        return true;
    }

    private long Second() => _time.GetUtcNow().UtcTicks / TimeSpan.TicksPerSecond;

    private Bucket BucketFor(long second)
    {
        var bucket = _buckets[second % Buckets];
        var current = Volatile.Read(ref bucket.Second);
        if (current != second && Interlocked.CompareExchange(ref bucket.Second, second, current) == current)
        {
            Volatile.Write(ref bucket.Requests, 0);
            Volatile.Write(ref bucket.Extras, 0);
        }

        return bucket;
    }

    private sealed class Bucket
    {
        public long Second = long.MinValue;
        public long Requests;
        public long Extras;
    }
}
