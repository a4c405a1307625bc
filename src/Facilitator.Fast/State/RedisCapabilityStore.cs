using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// Capabilities shared through Redis: one string per upstream (<c>{prefix}{caps}:&lt;id&gt;</c>, kept a day from
/// Redis's clock, written again by every probe that finds it changed) and an announcement on <c>{prefix}capabilities</c>
/// naming the upstream, on which every other instance reads it. An instance that starts, or whose connection returns,
/// reads every upstream's.
/// </summary>
/// <remarks>
/// Only a changed answer is written, so a probe round of unchanged upstreams costs no Redis command. While Redis is
/// away an instance routes by what it learned last, and by what it probes itself.
/// </remarks>
public sealed partial class RedisCapabilityStore : ICapabilityStore
{
    private static readonly TimeSpan KeepFor = TimeSpan.FromDays(1);

    private readonly RedisConnection _redis;
    private readonly string[] _upstreamIds;
    private readonly ILogger<RedisCapabilityStore> _logger;
    private readonly RedisChannel _channel;
    private readonly ConcurrentDictionary<string, byte[]> _known = new(StringComparer.Ordinal);
    private Action<string, byte[]>? _learned;

    public RedisCapabilityStore(RedisConnection redis, IEnumerable<string> upstreamIds, ILogger<RedisCapabilityStore> logger)
    {
        _redis = redis;
        _upstreamIds = [.. upstreamIds];
        _logger = logger;
        _channel = redis.Channel("capabilities");
        redis.Restored += () => _ = ReadAllAsync();
    }

    public void Share(string upstreamId, byte[] supported)
    {
        if (Array.IndexOf(_upstreamIds, upstreamId) < 0
            || (_known.TryGetValue(upstreamId, out var known) && known.AsSpan().SequenceEqual(supported)))
        {
            return;
        }

        _known[upstreamId] = supported;
        _ = WriteAsync(upstreamId, supported);
    }

    public async Task StartAsync(Action<string, byte[]> learned)
    {
        _learned = learned;
        try
        {
            await _redis.Subscriber.SubscribeAsync(_channel, (channel, message) => _ = OnMessageAsync(message)).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            // The client subscribes again when the connection returns, and the instance reads them all then.
            _redis.CountFallback();
            SharingFailed(_logger, ex.GetType().Name);
        }

        await ReadAllAsync().ConfigureAwait(false);
    }

    private async Task WriteAsync(string upstreamId, byte[] supported)
    {
        try
        {
            await _redis.Database.StringSetAsync(KeyOf(upstreamId), supported, KeepFor).ConfigureAwait(false);
            await _redis.Subscriber.PublishAsync(_channel, _redis.InstanceId + "|" + upstreamId).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            // Written again when the answer next changes; meanwhile other instances route by what they knew.
            _known.TryRemove(upstreamId, out _);
            _redis.CountFallback();
            SharingFailed(_logger, ex.GetType().Name);
        }
    }

    private async Task OnMessageAsync(RedisValue message)
    {
        var text = (string?)message;
        var separator = text?.IndexOf('|') ?? -1;
        if (separator <= 0 || text.AsSpan(0, separator).SequenceEqual(_redis.InstanceId))
        {
            return;
        }

        await ReadAsync(text![(separator + 1)..]).ConfigureAwait(false);
    }

    private async Task ReadAllAsync()
    {
        foreach (var upstreamId in _upstreamIds)
        {
            if (!await ReadAsync(upstreamId).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>Reads one upstream's shared answer and hands it on; false when Redis could not be read.</summary>
    private async Task<bool> ReadAsync(string upstreamId)
    {
        if (_learned is not { } learned || Array.IndexOf(_upstreamIds, upstreamId) < 0)
        {
            return true;
        }

        try
        {
            var value = (byte[]?)await _redis.Database.StringGetAsync(KeyOf(upstreamId)).ConfigureAwait(false);
            if (value is { Length: > 0 } && !(_known.TryGetValue(upstreamId, out var known) && known.AsSpan().SequenceEqual(value)))
            {
                _known[upstreamId] = value;
                learned(upstreamId, value);
            }

            return true;
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            _redis.CountFallback();
            SharingFailed(_logger, ex.GetType().Name);
            return false;
        }
    }

    private RedisKey KeyOf(string upstreamId) => _redis.Key("caps", upstreamId);

    [LoggerMessage(EventId = 4040, Level = LogLevel.Warning, Message = "Capabilities could not be shared through Redis ({Error}); this instance routes by what it learned last and by its own probes meanwhile")]
    private static partial void SharingFailed(ILogger logger, string error);
}
