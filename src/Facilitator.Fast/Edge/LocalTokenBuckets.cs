using System.Collections.Concurrent;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Token buckets in this process: a refill-then-take decision per request under the bucket's own small lock.
/// Memory is bounded hard: past the configured number of buckets, full buckets are dropped, then the ones used least
/// recently, until the count is back under the bound. Each bucket refills at its own policy's rate.
/// </summary>
public sealed class LocalTokenBuckets
{
    private readonly ConcurrentDictionary<(string Policy, string Client), Bucket> _buckets = new();
    private readonly TimeProvider _time;
    private readonly int _maxBuckets;
    private int _sweeping;

    public LocalTokenBuckets(TimeProvider time, int maxBuckets)
    {
        _time = time;
        _maxBuckets = maxBuckets;
    }

    public int Count => _buckets.Count;

    public RateLimitDecision TryTake(RateLimitPolicy policy, string client, int tokens = 1)
    {
        var now = _time.GetUtcNow().UtcTicks;
        if (_buckets.Count >= _maxBuckets)
        {
            Sweep(now);
        }

        var bucket = _buckets.GetOrAdd((policy.Name, client), static (_, state) => new Bucket(state.policy, state.now), (policy, now));
        lock (bucket)
        {
            bucket.Refill(now);
            bucket.UsedTicks = now;
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

    /// <summary>Whether the client's bucket of <paramref name="policy"/> has a token, without taking one.</summary>
    public bool HasToken(RateLimitPolicy policy, string client)
    {
        if (!_buckets.TryGetValue((policy.Name, client), out var bucket))
        {
            return true;
        }

        lock (bucket)
        {
            bucket.Refill(_time.GetUtcNow().UtcTicks);
            return bucket.Tokens >= 1;
        }
    }

    private void Sweep(long now)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            foreach (var (key, bucket) in _buckets)
            {
                lock (bucket)
                {
                    if (bucket.IsFullAt(now))
                    {
                        _buckets.TryRemove(new KeyValuePair<(string, string), Bucket>(key, bucket));
                    }
                }
            }

            var excess = _buckets.Count - (_maxBuckets * 9 / 10);
            if (excess > 0)
            {
                foreach (var (key, bucket) in _buckets.OrderBy(static b => b.Value.UsedTicks).Take(excess).ToList())
                {
                    _buckets.TryRemove(new KeyValuePair<(string, string), Bucket>(key, bucket));
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private sealed class Bucket(RateLimitPolicy policy, long now)
    {
        private long _refilledTicks = now;

        public double Tokens { get; set; } = policy.Capacity;

        /// <summary>When a request last took from the bucket: what least-recently-used eviction orders by.</summary>
        public long UsedTicks { get; set; } = now;

        /// <summary>Whether the bucket would be full at <paramref name="now"/> (its client idle), without changing it.</summary>
        public bool IsFullAt(long now) =>
            Tokens + (Math.Max(now - _refilledTicks, 0) / (double)TimeSpan.TicksPerSecond * policy.RefillPerSecond) >= policy.Capacity;

        public void Refill(long now)
        {
            var elapsed = Math.Max(now - _refilledTicks, 0) / (double)TimeSpan.TicksPerSecond;
            Tokens = Math.Min(policy.Capacity, Tokens + (elapsed * policy.RefillPerSecond));
            _refilledTicks = Math.Max(now, _refilledTicks);
        }
    }
}
