using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>The shared probe lock: <c>SET key instance NX PX</c>, so one instance probes per interval.</summary>
public sealed class RedisProbeLock(RedisConnection redis) : IProbeLock
{
    public async ValueTask<bool> TryAcquireAsync(TimeSpan holdFor, CancellationToken cancellationToken)
    {
        if (!redis.IsConnected)
        {
            // Without the shared state every instance must watch the upstreams itself.
            redis.CountFallback();
            return true;
        }

        try
        {
            return await redis.Database.StringSetAsync(redis.Key("probe", "lock"), redis.InstanceId, holdFor, When.NotExists).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            redis.CountFallback();
            return true;
        }
    }
}
