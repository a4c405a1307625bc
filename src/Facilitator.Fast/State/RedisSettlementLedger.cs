using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// The settlement ledger shared by every instance: one Redis string per authorization, claimed atomically by a
/// script (the first caller of any instance owns it), holding the finished or pending record until the authorization
/// expires. Waiters on other instances poll it. When Redis cannot be reached the local ledger is used and the
/// fallback counted; cross-instance exactly-once then holds only per instance until Redis returns.
/// </summary>
public sealed class RedisSettlementLedger : ISettlementLedger
{
    /// <summary>Returns the existing value, or sets ARGV[1] until ARGV[2] (unix ms) and returns false.</summary>
    private const string ClaimScript = """
        local existing = redis.call('GET', KEYS[1])
        if existing then return existing end
        redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
        return false
        """;

    /// <summary>Deletes the key only while it still holds this caller's claim.</summary>
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private readonly RedisConnection _redis;
    private readonly InMemorySettlementLedger _local;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, byte[]> _claims = new(StringComparer.Ordinal);

    public RedisSettlementLedger(RedisConnection redis, InMemorySettlementLedger local, TimeProvider time)
    {
        _redis = redis;
        _local = local;
        _time = time;
    }

    public async ValueTask<SettlementClaim> ClaimAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var claim = Serialize(new SettlementRecord(SettlementState.InFlight, null, 0, null, null, _time.GetUtcNow()));
        try
        {
            var result = await _redis.Database.ScriptEvaluateAsync(
                ClaimScript, [KeyOf(key)], [claim, expiresAt.ToUnixTimeMilliseconds()]).ConfigureAwait(false);
            if (result.IsNull)
            {
                _claims[key] = claim;
                return new SettlementClaim(true, null);
            }

            return new SettlementClaim(false, Deserialize((byte[])result!));
        }
        catch (RedisException)
        {
            _redis.CountFallback();
            return await _local.ClaimAsync(key, expiresAt, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<SettlementRecord?> FindAsync(string key)
    {
        try
        {
            var value = await _redis.Database.StringGetAsync(KeyOf(key)).ConfigureAwait(false);
            return value.IsNull ? null : Deserialize((byte[])value!);
        }
        catch (RedisException)
        {
            _redis.CountFallback();
            return await _local.FindAsync(key).ConfigureAwait(false);
        }
    }

    public async ValueTask RecordAsync(string key, SettlementRecord record, DateTimeOffset expiresAt)
    {
        _claims.TryRemove(key, out _);
        try
        {
            await _redis.Database.StringSetAsync(KeyOf(key), Serialize(record), Max(expiresAt - _time.GetUtcNow(), TimeSpan.FromSeconds(1))).ConfigureAwait(false);
        }
        catch (RedisException)
        {
            _redis.CountFallback();
        }

        // The local ledger also answers while Redis is away, and wakes this instance's waiters at once.
        await _local.RecordAsync(key, record, expiresAt).ConfigureAwait(false);
    }

    public async ValueTask ReleaseAsync(string key)
    {
        if (_claims.TryRemove(key, out var claim))
        {
            try
            {
                await _redis.Database.ScriptEvaluateAsync(ReleaseScript, [KeyOf(key)], [claim]).ConfigureAwait(false);
            }
            catch (RedisException)
            {
                _redis.CountFallback();
            }
        }

        await _local.ReleaseAsync(key).ConfigureAwait(false);
    }

    public async ValueTask<SettlementRecord?> WaitAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        SettlementRecord? last = null;
        while (true)
        {
            try
            {
                var value = await _redis.Database.StringGetAsync(KeyOf(key)).ConfigureAwait(false);
                if (value.IsNull)
                {
                    return null;
                }

                last = Deserialize((byte[])value!);
                if (last.State != SettlementState.InFlight)
                {
                    return last;
                }
            }
            catch (RedisException)
            {
                _redis.CountFallback();
                return await _local.WaitAsync(key, timeout - Stopwatch.GetElapsedTime(started), cancellationToken).ConfigureAwait(false);
            }

            if (Stopwatch.GetElapsedTime(started) >= timeout)
            {
                return last;
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private RedisKey KeyOf(string key) => _redis.Key("settle:" + key, "record");

    private byte[] Serialize(SettlementRecord record) =>
        JsonSerializer.SerializeToUtf8Bytes(SettlementRecordWire.From(record, _redis.InstanceId), StateJsonContext.Default.SettlementRecordWire);

    private static SettlementRecord Deserialize(byte[] value) =>
        JsonSerializer.Deserialize(value, StateJsonContext.Default.SettlementRecordWire)!.ToRecord();
}
