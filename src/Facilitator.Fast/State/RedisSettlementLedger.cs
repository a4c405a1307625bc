using System.Diagnostics;
using System.Text.Json;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// The settlement ledger shared by every instance: one Redis string per authorization, holding the in-flight claim,
/// then the finished or pending record until the authorization expires. Claims, records and releases are scripts
/// that check the claim's owner, so an instance that outlived its claim cannot overwrite another's.
/// </summary>
/// <remarks>
/// A Redis fault (a connection error or a timeout) never makes a settle run without the ledger: a claim that cannot
/// be made refuses the settle (<see cref="SettlementLedgerUnavailableException"/>) unless
/// <see cref="RedisOptions.LocalSettlementFallback"/> is on; a wait that cannot read the ledger reports the settlement
/// still in flight (answered as pending), never released; records are also written to the local ledger first.
/// </remarks>
public sealed class RedisSettlementLedger : ISettlementLedger
{
    private const string ClaimScript = """
        local existing = redis.call('GET', KEYS[1])
        if existing then return existing end
        redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
        return false
        """;

    private const string ClaimPendingScript = """
        local existing = redis.call('GET', KEYS[1])
        if existing and cjson.decode(existing).s ~= 2 then return existing end
        redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
        return false
        """;

    /// <summary>Sets ARGV[1] until ARGV[3] only while the key holds ARGV[2]'s claim (or nothing).</summary>
    private const string RecordScript = """
        local existing = redis.call('GET', KEYS[1])
        if existing and cjson.decode(existing).k ~= ARGV[2] then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
        return 1
        """;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private readonly RedisConnection _redis;
    private readonly InMemorySettlementLedger _local;
    private readonly TimeProvider _time;
    private readonly bool _localFallback;

    public RedisSettlementLedger(RedisConnection redis, InMemorySettlementLedger local, TimeProvider time, bool localFallback)
    {
        _redis = redis;
        _local = local;
        _time = time;
        _localFallback = localFallback;
    }

    public ValueTask<SettlementClaim> ClaimAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        ClaimWithAsync(ClaimScript, key, null, expiresAt, () => _local.ClaimAsync(key, expiresAt, cancellationToken));

    public ValueTask<SettlementClaim> ClaimPendingAsync(string key, string holderId, DateTimeOffset expiresAt) =>
        ClaimWithAsync(ClaimPendingScript, key, holderId, expiresAt, () => _local.ClaimPendingAsync(key, holderId, expiresAt));

    public async ValueTask<SettlementRecord?> FindAsync(string key)
    {
        try
        {
            var value = await _redis.Database.StringGetAsync(KeyOf(key)).ConfigureAwait(false);
            return value.IsNull ? await _local.FindAsync(key).ConfigureAwait(false) : Deserialize((byte[])value!);
        }
        catch (Exception ex) when (IsFault(ex))
        {
            _redis.CountFallback();
            return await _local.FindAsync(key).ConfigureAwait(false);
        }
    }

    public async ValueTask RecordAsync(string key, string claimId, SettlementRecord record, DateTimeOffset expiresAt)
    {
        await _local.RecordAsync(key, claimId, record, expiresAt).ConfigureAwait(false);
        try
        {
            await _redis.Database.ScriptEvaluateAsync(
                RecordScript, [KeyOf(key)], [Serialize(record), claimId, expiresAt.ToUnixTimeMilliseconds()]).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsFault(ex))
        {
            _redis.CountFallback();
        }
    }

    public async ValueTask ReleaseAsync(string key, string claimId)
    {
        await _local.ReleaseAsync(key, claimId).ConfigureAwait(false);
        try
        {
            var value = await _redis.Database.StringGetAsync(KeyOf(key)).ConfigureAwait(false);
            if (value.IsNull || Deserialize((byte[])value!) is not { State: SettlementState.InFlight } current || current.ClaimId != claimId)
            {
                return;
            }

            // A retry on a holder that provably did not process it leaves the settlement pending there.
            var next = current.UpstreamId is { } holder
                ? (RedisValue)Serialize(new SettlementRecord(SettlementState.Pending, holder, 0, null, null, _time.GetUtcNow()))
                : RedisValue.Null;
            await _redis.Database.ScriptEvaluateAsync(
                next.IsNull
                    ? "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
                    : "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end return 0",
                [KeyOf(key)],
                next.IsNull ? [value] : [value, next]).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsFault(ex))
        {
            _redis.CountFallback();
        }
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
            catch (Exception ex) when (IsFault(ex))
            {
                // The ledger cannot be read: the settlement is still in flight as far as this caller can tell.
                _redis.CountFallback();
                return last ?? new SettlementRecord(SettlementState.InFlight, null, 0, null, null, _time.GetUtcNow());
            }

            if (Stopwatch.GetElapsedTime(started) >= timeout)
            {
                return last;
            }

            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<SettlementClaim> ClaimWithAsync(
        string script, string key, string? holderId, DateTimeOffset expiresAt, Func<ValueTask<SettlementClaim>> local)
    {
        var claimId = Guid.NewGuid().ToString("N");
        var claim = new SettlementRecord(SettlementState.InFlight, holderId, 0, null, null, _time.GetUtcNow(), claimId);
        try
        {
            var result = await _redis.Database.ScriptEvaluateAsync(
                script, [KeyOf(key)], [Serialize(claim), expiresAt.ToUnixTimeMilliseconds()]).ConfigureAwait(false);
            if (!result.IsNull)
            {
                return SettlementClaim.Taken(Deserialize((byte[])result!));
            }

            // Mirror the claim locally so that this instance's waiters and records work while Redis is away.
            await _local.RecordAsync(key, claimId, claim, expiresAt).ConfigureAwait(false);
            return SettlementClaim.Own(claimId);
        }
        catch (Exception ex) when (IsFault(ex))
        {
            _redis.CountFallback();
            if (!_localFallback)
            {
                throw new SettlementLedgerUnavailableException(ex);
            }

            return await local().ConfigureAwait(false);
        }
    }

    /// <summary>A connection failure or a timeout (<c>RedisTimeoutException</c> is a <see cref="TimeoutException"/>, not a <see cref="RedisException"/>).</summary>
    private static bool IsFault(Exception ex) => ex is RedisException or TimeoutException;

    private RedisKey KeyOf(string key) => _redis.Key("settle:" + key, "record");

    private byte[] Serialize(SettlementRecord record) =>
        JsonSerializer.SerializeToUtf8Bytes(SettlementRecordWire.From(record, _redis.InstanceId), StateJsonContext.Default.SettlementRecordWire);

    private static SettlementRecord Deserialize(byte[] value) =>
        JsonSerializer.Deserialize(value, StateJsonContext.Default.SettlementRecordWire)!.ToRecord();
}
