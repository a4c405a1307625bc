using System.Collections.Concurrent;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Token buckets in this process: a refill-then-take decision per request under the bucket's own small lock.
/// Memory is bounded: past the configured number of buckets, full buckets (their clients idle) are dropped.
/// </summary>
public sealed class LocalTokenBuckets
{
    private readonly ConcurrentDictionary<(string Policy, string Client), Bucket> _buckets = new();
    private readonly TimeProvider _time;
    private readonly int _maxBuckets;
    private long _nextSweepTicks;

    public LocalTokenBuckets(TimeProvider time, int maxBuckets)
    {
        _time = time;
        _maxBuckets = maxBuckets;
    }

    public int Count => _buckets.Count;

    public RateLimitDecision TryTake(RateLimitPolicy policy, string client, int tokens = 1)
    {
        var now = _time.GetUtcNow().UtcTicks;
        SweepIfNeeded(now, policy);
        var bucket = _buckets.GetOrAdd((policy.Name, client), static (_, state) => new Bucket(state.Capacity, state.now), (policy.Capacity, now));
        lock (bucket)
        {
            bucket.Refill(policy, now);
            var allowed = bucket.Tokens >= tokens;
            if (allowed)
            {
                bucket.Tokens -= tokens;
            }

            var missing = Math.Max(tokens - bucket.Tokens, 0);
            return new RateLimitDecision(
                allowed,
                (int)Math.Floor(bucket.Tokens),
                allowed ? 0 : missing / policy.RefillPerSecond,
                (policy.Capacity - bucket.Tokens) / policy.RefillPerSecond);
        }
    }

    private void SweepIfNeeded(long now, RateLimitPolicy policy)
    {
        var due = Volatile.Read(ref _nextSweepTicks);
        if ((now < due || _buckets.Count <= _maxBuckets / 2) && _buckets.Count <= _maxBuckets)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _nextSweepTicks, now + TimeSpan.TicksPerSecond * 10, due) != due)
        {
            return;
        }

        foreach (var (key, bucket) in _buckets)
        {
            lock (bucket)
            {
                bucket.Refill(policy, now);
                if (bucket.Tokens >= bucket.Capacity)
                {
                    _buckets.TryRemove(new KeyValuePair<(string, string), Bucket>(key, bucket));
                }
            }
        }
    }

    private sealed class Bucket(int capacity, long now)
    {
        public int Capacity { get; } = capacity;

        public double Tokens { get; set; } = capacity;

        private long _updatedTicks = now;

        public void Refill(RateLimitPolicy policy, long now)
        {
            var elapsed = Math.Max(now - _updatedTicks, 0) / (double)TimeSpan.TicksPerSecond;
            Tokens = Math.Min(Capacity, Tokens + (elapsed * policy.RefillPerSecond));
            _updatedTicks = Math.Max(now, _updatedTicks);
        }
    }
}
