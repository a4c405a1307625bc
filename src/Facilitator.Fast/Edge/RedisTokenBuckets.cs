using System.Collections.Concurrent;
using Facilitator.Fast.State;
using StackExchange.Redis;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Token buckets shared by every instance: one Redis hash per (policy, client), refilled and taken from by one
/// script whose clock is Redis's own <c>TIME</c>, so instances with skewed clocks agree.
/// </summary>
/// <remarks>
/// Lease mode: an instance takes up to <c>LeaseSize</c> tokens per script call and spends them locally for up to
/// <c>LeaseMs</c>; under sustained load a decision then costs about 1/LeaseSize Redis commands. Tokens are taken from
/// the shared bucket before they are spent, so the fleet never admits more than the bucket allows; leased tokens that
/// lapse unspent only make it admit a little less. The script is sent with EVALSHA (StackExchange.Redis reloads it on
/// NOSCRIPT) with explicit keys and values.
/// </remarks>
public sealed class RedisTokenBuckets
{
    private const string TakeScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local capacity = tonumber(ARGV[1])
        local rate = tonumber(ARGV[2])
        local want = tonumber(ARGV[3])
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
        local tokens = tonumber(state[1]) or capacity
        local ts = tonumber(state[2]) or now
        if now > ts then tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000) end
        local granted = 0
        if tokens >= 1 then
            granted = math.min(want, math.floor(tokens))
            tokens = tokens - granted
        end
        redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return { granted, tostring(tokens) }
        """;

    private readonly RedisConnection _redis;
    private readonly TimeProvider _time;
    private readonly int _leaseSize;
    private readonly TimeSpan _leaseFor;
    private readonly ConcurrentDictionary<(string Policy, string Client), Lease> _leases = new();

    private readonly int _maxLeases;
    private int _pruning;

    public RedisTokenBuckets(RedisConnection redis, TimeProvider time, int leaseSize, TimeSpan leaseFor, int maxLeases = 100_000)
    {
        _maxLeases = maxLeases;
        _redis = redis;
        _time = time;
        _leaseSize = leaseSize;
        _leaseFor = leaseFor;
    }

    /// <summary>Script calls made: the Redis cost of all decisions.</summary>
    public long ScriptCalls => Volatile.Read(ref _scriptCalls);

    private long _scriptCalls;

    /// <summary>One decision; throws <see cref="RedisException"/> or <see cref="TimeoutException"/> when Redis cannot be reached.</summary>
    public async ValueTask<RateLimitDecision> TryTakeAsync(RateLimitPolicy policy, string client)
    {
        var now = _time.GetUtcNow();
        if (_leases.Count >= _maxLeases)
        {
            Prune(now);
        }

        var lease = _leases.GetOrAdd((policy.Name, client), static _ => new Lease());
        lock (lease)
        {
            if (lease.Tokens > 0 && now < lease.Until)
            {
                lease.Tokens--;
                return Decision(policy, allowed: true, lease.Tokens + lease.SharedRemaining);
            }
        }

        Interlocked.Increment(ref _scriptCalls);
        var result = (RedisResult[])(await _redis.Database.ScriptEvaluateAsync(
            TakeScript,
            [_redis.Key("rl:" + policy.Name + ":" + client, "bucket")],
            [policy.Capacity, policy.RefillPerSecond, Math.Min(_leaseSize, policy.Capacity), (long)(policy.WindowSeconds * 2000L) + 1000]).ConfigureAwait(false))!;
        var granted = (int)result[0];
        var remaining = double.Parse((string)result[1]!, System.Globalization.CultureInfo.InvariantCulture);
        lock (lease)
        {
            lease.SharedRemaining = (int)Math.Floor(remaining);
            if (granted == 0)
            {
                return new RateLimitDecision(false, 0, (1 - remaining) / policy.RefillPerSecond, (policy.Capacity - remaining) / policy.RefillPerSecond);
            }

            // Concurrent refills each add what they were granted: no leased token is thrown away.
            lease.Tokens = (now < lease.Until ? lease.Tokens : 0) + granted - 1;
            lease.Until = now + _leaseFor;
            return Decision(policy, allowed: true, lease.Tokens + lease.SharedRemaining);
        }
    }

    /// <summary>Drops lapsed leases, then, if still over the bound, arbitrary ones (their tokens only lapse early).</summary>
    private void Prune(DateTimeOffset now)
    {
        if (Interlocked.Exchange(ref _pruning, 1) == 1)
        {
            return;
        }

        try
        {
            foreach (var (key, lease) in _leases)
            {
                if (lease.Until <= now)
                {
                    _leases.TryRemove(new KeyValuePair<(string, string), Lease>(key, lease));
                }
            }

            foreach (var key in _leases.Keys.Take(Math.Max(_leases.Count - (_maxLeases * 9 / 10), 0)).ToList())
            {
                _leases.TryRemove(key, out _);
            }
        }
        finally
        {
            Volatile.Write(ref _pruning, 0);
        }
    }

    private static RateLimitDecision Decision(RateLimitPolicy policy, bool allowed, int remaining) =>
        new(allowed, remaining, 0, (policy.Capacity - remaining) / policy.RefillPerSecond);

    private sealed class Lease
    {
        public int Tokens;
        public int SharedRemaining;
        public DateTimeOffset Until;
    }
}
