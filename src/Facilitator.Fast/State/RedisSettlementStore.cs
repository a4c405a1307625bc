using System.Text.Json;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// The settlement store shared by every instance: one Redis string per key, replaced only by a script that compares it
/// with what was read, with a relative expiry (<c>PX</c>) and Redis's own clock (<c>TIME</c>) returned with every read
/// and write, so no instance's clock decides when a claim or record lapses.
/// </summary>
/// <remarks>
/// <para>A write that Redis may have run but whose answer was lost (a client timeout) is resolved by reading the key
/// back: the record written, the record expected, or another one. Only when that read fails too is the write reported
/// unavailable, and then whatever it left is a claim whose lease lapses by itself.</para>
/// <para>Writes that end or release a claim publish the key on one channel; every instance relays it to its local
/// <see cref="SettlementWaiters"/>, so callers waiting on another instance's settlement wake at once.</para>
/// </remarks>
public sealed partial class RedisSettlementStore : ISettlementStore, IDisposable
{
    // No writes: it runs while Redis pauses writers (CLIENT PAUSE WRITE, failovers), so a read can still decide.
    private const string ReadScript = """
        #!lua flags=no-writes
        local value = redis.call('GET', KEYS[1])
        local now = redis.call('TIME')
        return {value, now[1], now[2]}
        """;

    private const string ReplaceScript = """
        local current = redis.call('GET', KEYS[1])
        if (current or '') ~= ARGV[1] then return false end
        if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
        if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
        local now = redis.call('TIME')
        return {now[1], now[2]}
        """;

    private readonly RedisConnection _redis;
    private readonly RedisChannel _channel;
    private readonly ILogger _logger;
    private readonly bool _waitsForReplicas;

    public RedisSettlementStore(RedisConnection redis, SettlementWaiters waiters, RedisOptions options, TimeProvider time, ILogger<RedisSettlementStore> logger)
    {
        _redis = redis;
        Waiters = waiters;
        _logger = logger;
        _channel = redis.Channel("settle:changed");
        Replication = new RedisReplicaAcknowledgement(
            () => redis.LedgerMultiplexer,
            new RedisReplicaTopology(() => redis.SharedMultiplexer, time, logger),
            options.SettlementReplicas,
            TimeSpan.FromMilliseconds(options.SettlementReplicaTimeoutMs));
        _waitsForReplicas = options.SettlementReplicas > 0;
    }

    public SettlementWaiters Waiters { get; }

    /// <summary>The wait for replicas after each write, so a primary's failover cannot lose it.</summary>
    public RedisReplicaAcknowledgement Replication { get; }

    /// <summary>Subscribes to other instances' announcements of changed settlements and reads how many replicas each primary has.</summary>
    public async Task StartAsync()
    {
        if (_waitsForReplicas)
        {
            await Replication.Topology.StartAsync().ConfigureAwait(false);
        }

        try
        {
            await _redis.Subscriber.SubscribeAsync(_channel, (_, message) =>
            {
                if (Sha256Hash.TryParse(((string?)message).AsSpan(), out var key))
                {
                    Waiters.Notify(key);
                }
            }).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            // The multiplexer subscribes again when the connection returns; waiters poll slowly meanwhile.
            _redis.CountFallback();
        }
    }

    /// <summary>
    /// Reads on the shared connection, never behind the <c>WAIT</c>s that block the ledger's own connection while a
    /// replica is slow: a finished settlement's repeat is answered while new settles wait for replicas.
    /// </summary>
    public ValueTask<StoredSettlement> ReadAsync(Sha256Hash key) => ReadOnAsync(_redis.Database, key);

    private async ValueTask<StoredSettlement> ReadOnAsync(IDatabase database, Sha256Hash key)
    {
        try
        {
            var result = (RedisResult[])(await database.ScriptEvaluateAsync(ReadScript, [KeyOf(key)]).ConfigureAwait(false))!;
            var value = (byte[]?)result[0];
            return new StoredSettlement(Deserialize(value), value ?? [], Milliseconds(result[1], result[2]));
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            _redis.CountFallback();
            throw new SettlementLedgerUnavailableException("The settlement ledger (Redis) is unreachable.", ex, unreachable: ex is not RedisServerException);
        }
    }

    public async ValueTask<StoredSettlement?> ReplaceAsync(Sha256Hash key, StoredSettlement expected, SettlementRecord? next, TimeSpan keepFor, bool notify)
    {
        var expectedBytes = (byte[])(expected.Version ?? Array.Empty<byte>());
        var nextBytes = next is null ? [] : Serialize(next);
        var redisKey = KeyOf(key);
        try
        {
            var result = await _redis.LedgerDatabase.ScriptEvaluateAsync(
                ReplaceScript,
                [redisKey],
                [
                    expectedBytes,
                    nextBytes,
                    Math.Max((long)keepFor.TotalMilliseconds, 1),
                    notify ? _channel.ToString() : "",
                    notify ? key.ToString() : "",
                ]).ConfigureAwait(false);
            if (result.IsNull)
            {
                return null;
            }

            var now = (RedisResult[])result!;
            await ReplicatedAsync(redisKey).ConfigureAwait(false);
            if (notify)
            {
                Waiters.Notify(key);
            }

            return new StoredSettlement(next, nextBytes, Milliseconds(now[0], now[1]));
        }
        catch (RedisServerException ex)
        {
            // Redis answered and refused the script before it ran (NOREPLICAS, OOM, READONLY, TRYAGAIN): nothing was
            // written, and nothing may be concluded from that — an outcome is retried, a claim refused.
            WriteRefused(_logger, redisKey.ToString(), ex.Message);
            throw new SettlementLedgerUnavailableException("The settlement ledger (Redis) refused a write.", ex);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            _redis.CountFallback();
            return await ReadBackAsync(key, next, nextBytes, ex).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After a write whose answer was lost: what is stored decides whether it happened. Read on the ledger's own
    /// connection, behind the write, so "not written" is conclusive; when that read fails too, the shared connection
    /// tells a Redis that answers (the write may still be queued: unconfirmed) from one out of reach.
    /// </summary>
    private async ValueTask<StoredSettlement?> ReadBackAsync(Sha256Hash key, SettlementRecord? next, byte[] nextBytes, Exception fault)
    {
        WriteUnconfirmed(_logger, key.ToString());
        StoredSettlement read;
        var ordered = true;
        try
        {
            read = await ReadOnAsync(_redis.LedgerDatabase, key).ConfigureAwait(false);
        }
        catch (SettlementLedgerUnavailableException)
        {
            ordered = false;
            try
            {
                read = await ReadAsync(key).ConfigureAwait(false);
            }
            catch (SettlementLedgerUnavailableException unread)
            {
                throw new SettlementLedgerUnavailableException("The settlement ledger (Redis) did not confirm a write and cannot be read.", fault, unread.Unreachable);
            }
        }

        var stored = (byte[])read.Version!;
        if (stored.AsSpan().SequenceEqual(nextBytes))
        {
            // The ledger's connection wrote it: WAIT there covers it.
            await ReplicatedAsync(KeyOf(key)).ConfigureAwait(false);
            Waiters.Notify(key);
            return new StoredSettlement(next, nextBytes, read.NowMs);
        }

        // Not written (still what was expected, or changed by another caller): the caller decides again from a read;
        // unless the read could not come after the write, which may still land.
        return ordered
            ? null
            : throw new SettlementLedgerUnavailableException("The settlement ledger (Redis) did not confirm a write in time.", fault);
    }

    /// <summary>
    /// Throws unless the replicas waited for hold the write just made: one only the primary holds may be lost in a
    /// failover, so the settlement does not go on (a claim not yet acted on lapses; a record is written again).
    /// </summary>
    private async ValueTask ReplicatedAsync(RedisKey key)
    {
        bool acknowledged;
        try
        {
            acknowledged = await Replication.AcknowledgedAsync(key).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            _redis.CountFallback();
            throw new SettlementLedgerUnavailableException("The settlement ledger (Redis) did not say whether its replicas hold a write.", ex);
        }

        if (!acknowledged)
        {
            NotReplicated(_logger, key.ToString());
            throw new SettlementLedgerUnavailableException("A settlement ledger write was not acknowledged by a replica of its Redis primary in time (Redis:SettlementReplicaTimeoutMs); a failover could lose it.");
        }
    }

    private static long Milliseconds(RedisResult seconds, RedisResult microseconds) => (long)seconds * 1000 + (long)microseconds / 1000;

    private RedisKey KeyOf(Sha256Hash key) => _redis.Key("settle:" + key.ToString(), "record");

    private byte[] Serialize(SettlementRecord record) =>
        JsonSerializer.SerializeToUtf8Bytes(SettlementRecordWire.From(record, _redis.InstanceId), StateJsonContext.Default.SettlementRecordWire);

    private static SettlementRecord? Deserialize(byte[]? value)
    {
        if (value is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(value, StateJsonContext.Default.SettlementRecordWire)?.ToRecord()
                ?? throw new SettlementLedgerUnavailableException("A settlement record in Redis is not readable.");
        }
        catch (JsonException ex)
        {
            // A record this version cannot read (an older format, a foreign writer) is never treated as absent.
            throw new SettlementLedgerUnavailableException("A settlement record in Redis is not readable.", ex);
        }
    }

    public void Dispose() => Replication.Topology.Dispose();

    [LoggerMessage(EventId = 4023, Level = LogLevel.Warning, Message = "Redis refused a settlement ledger write (key {Key}): {Error}; the settlement does not go on until it accepts writes again")]
    private static partial void WriteRefused(ILogger logger, string key, string error);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Warning, Message = "A settlement ledger write (key {Key}) was not acknowledged by a replica in time; the settlement does not go on until Redis replicates again")]
    private static partial void NotReplicated(ILogger logger, string key);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Warning, Message = "A settlement ledger write to Redis was not confirmed (key {Key}); reading it back to learn whether it happened")]
    private static partial void WriteUnconfirmed(ILogger logger, string key);
}
