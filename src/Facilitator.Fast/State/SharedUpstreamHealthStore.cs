using System.Globalization;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// Health shared by every instance through Redis. Each instance counts its own consecutive failures (no Redis call
/// per request); a transition it observes is written to the upstream's hash and published, and every other instance
/// applies it at once, so an upstream that failed for one instance is avoided by all without each failing first.
/// </summary>
/// <remarks>
/// When Redis is unreachable the local state keeps routing (and the fault is counted and shown); when it returns,
/// the instance reads every upstream's hash, takes the newer of the two states, and publishes its own where newer.
/// </remarks>
public sealed partial class SharedUpstreamHealthStore : IUpstreamHealthStore
{
    private const string ChannelName = "health";
    private readonly InMemoryUpstreamHealthStore _local;
    private readonly RedisConnection _redis;
    private readonly string[] _upstreamIds;
    private readonly ILogger<SharedUpstreamHealthStore> _logger;

    public SharedUpstreamHealthStore(InMemoryUpstreamHealthStore local, RedisConnection redis, IEnumerable<string> upstreamIds, ILogger<SharedUpstreamHealthStore> logger)
    {
        _local = local;
        _redis = redis;
        _upstreamIds = [.. upstreamIds];
        _logger = logger;
        _local.Transitioned += (id, transition) => Transitioned?.Invoke(id, transition);
        _redis.Restored += () => _ = ResynchroniseAsync();
    }

    public event Action<string, HealthTransition>? Transitioned;

    public long Version => _local.Version;

    public bool IsHealthy(string upstreamId) => _local.IsHealthy(upstreamId);

    public UpstreamHealth Read(string upstreamId) => _local.Read(upstreamId);

    public HealthTransition RecordSuccess(string upstreamId, DateTimeOffset at, DateTimeOffset startedAt) =>
        Share(upstreamId, _local.RecordSuccess(upstreamId, at, startedAt), at, null);

    public HealthTransition RecordFailure(string upstreamId, DateTimeOffset at, string error, int threshold) =>
        Share(upstreamId, _local.RecordFailure(upstreamId, at, error, threshold), at, error);

    /// <summary>Subscribes to other instances' transitions and reads the current shared state.</summary>
    public async Task StartAsync()
    {
        try
        {
            await _redis.Subscriber.SubscribeAsync(_redis.Channel(ChannelName), (_, message) => OnMessage(message)).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            _redis.CountFallback();
            SharingFailed(_logger, ex.GetType().Name);
        }

        await ResynchroniseAsync().ConfigureAwait(false);
    }

    private HealthTransition Share(string upstreamId, HealthTransition transition, DateTimeOffset at, string? error)
    {
        if (transition != HealthTransition.None)
        {
            _ = PublishAsync(upstreamId, transition == HealthTransition.BecameHealthy, at, error);
        }

        return transition;
    }

    private async Task PublishAsync(string upstreamId, bool healthy, DateTimeOffset at, string? error)
    {
        try
        {
            var database = _redis.Database;
            await database.HashSetAsync(_redis.Key("health", upstreamId),
            [
                new HashEntry("healthy", healthy ? 1 : 0),
                new HashEntry("since", at.UtcTicks),
                new HashEntry("error", error ?? ""),
                new HashEntry("instance", _redis.InstanceId),
            ]).ConfigureAwait(false);
            var message = string.Join('|', upstreamId, healthy ? "1" : "0", at.UtcTicks.ToString(CultureInfo.InvariantCulture), _redis.InstanceId, error ?? "");
            await _redis.Subscriber.PublishAsync(_redis.Channel(ChannelName), message).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            _redis.CountFallback();
            SharingFailed(_logger, ex.GetType().Name);
        }
    }

    private void OnMessage(RedisValue message)
    {
        var parts = message.ToString().Split('|', 5);
        if (parts.Length < 5 || parts[3] == _redis.InstanceId || Array.IndexOf(_upstreamIds, parts[0]) < 0
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
        {
            return;
        }

        _local.Apply(parts[0], parts[1] == "1", new DateTimeOffset(ticks, TimeSpan.Zero), parts[4].Length > 0 ? parts[4] : null);
    }

    /// <summary>Takes the newer of the shared and the local state of each upstream.</summary>
    private async Task ResynchroniseAsync()
    {
        foreach (var upstreamId in _upstreamIds)
        {
            try
            {
                var fields = await _redis.Database.HashGetAsync(_redis.Key("health", upstreamId), ["healthy", "since", "error"]).ConfigureAwait(false);
                var local = _local.Read(upstreamId);
                var localSince = local.IsHealthy ? local.LastSuccessAt : local.UnhealthySince;
                if (fields[0].IsNull || !fields[1].TryParse(out long ticks))
                {
                    if (!local.IsHealthy)
                    {
                        await PublishAsync(upstreamId, false, local.UnhealthySince ?? DateTimeOffset.UtcNow, local.LastError).ConfigureAwait(false);
                    }

                    continue;
                }

                var shared = new DateTimeOffset(ticks, TimeSpan.Zero);
                if (localSince is null || shared >= localSince)
                {
                    _local.Apply(upstreamId, (int)fields[0] == 1, shared, fields[2].IsNullOrEmpty ? null : fields[2].ToString());
                }
                else if (((int)fields[0] == 1) != local.IsHealthy)
                {
                    await PublishAsync(upstreamId, local.IsHealthy, localSince.Value, local.LastError).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (RedisConnection.IsFault(ex))
            {
                _redis.CountFallback();
                SharingFailed(_logger, ex.GetType().Name);
                return;
            }
        }
    }

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Health could not be shared through Redis ({Error}); this instance routes on its own observations meanwhile")]
    private static partial void SharingFailed(ILogger logger, string error);
}
