using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// The payment store shared by every instance: a hash per payment (its own hash tag), written and moved only by scripts
/// that compare the status first, kept until <c>validBefore</c> plus the retention; and one sorted set of open payments
/// scored by when each is due, taken by one instance at a time with Redis's own clock (<c>TIME</c>).
/// </summary>
/// <remarks>
/// A payment joins the due set before its record is written, so a crash between the two leaves a due entry without a
/// record (dropped when taken), never an open payment nobody will look at. With the append-only file on, neither a
/// <c>kill -9</c> of an instance nor a restart of Redis loses a verified or settled payment.
/// </remarks>
public sealed class RedisPaymentStore(RedisConnection redis, TimeSpan retention, TimeProvider time) : IPaymentStore
{
    private const string CreateScript = """
        local st = redis.call('HGET', KEYS[1], 'st')
        if st then
          if redis.call('HGET', KEYS[1], 'fp') == ARGV[1] or (st ~= 'failed' and st ~= 'expired') then
            return redis.call('HGETALL', KEYS[1])
          end
          redis.call('DEL', KEYS[1])
        end
        redis.call('HSET', KEYS[1], unpack(ARGV, 3))
        redis.call('EXPIREAT', KEYS[1], ARGV[2])
        return 1
        """;

    private const string TransitionScript = """
        local st = redis.call('HGET', KEYS[1], 'st')
        if not st then return 0 end
        if not string.find(ARGV[1], ',' .. st .. ',', 1, true) or redis.call('HGET', KEYS[1], 'fp') ~= ARGV[2] then
          return redis.call('HGETALL', KEYS[1])
        end
        if ARGV[3] ~= '' then
          for field in string.gmatch(ARGV[3], '%S+') do redis.call('HDEL', KEYS[1], field) end
        end
        redis.call('HSET', KEYS[1], unpack(ARGV, 4))
        return 1
        """;

    private const string DueScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZADD', KEYS[1], 'NX', now + tonumber(ARGV[2]), ARGV[1])
        return 1
        """;

    private const string TakeScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
        for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), id) end
        return ids
        """;

    /// <summary>An authorization valid further ahead than this is kept as if it lapsed then (plus the retention).</summary>
    private static readonly TimeSpan LongestValidity = TimeSpan.FromDays(400);

    private readonly RedisKey _due = redis.Key("pay-due", "open");

    public async ValueTask<PaymentCreateResult> CreateAsync(PaymentRecord record, TimeSpan dueIn)
    {
        var pairs = PaymentRecordFields.ToPairs(record);
        var args = new RedisValue[pairs.Count + 2];
        args[0] = record.Fingerprint.ToString();
        var lapse = Math.Min(record.ValidBefore, time.GetUtcNow().Add(LongestValidity).ToUnixTimeSeconds());
        args[1] = lapse + (long)retention.TotalSeconds;
        pairs.CopyTo(args, 2);
        try
        {
            await redis.Database.ScriptEvaluateAsync(DueScript, [_due], [Member(record.Id), Math.Max((long)dueIn.TotalMilliseconds, 0)]).ConfigureAwait(false);
            var result = await redis.Database.ScriptEvaluateAsync(CreateScript, [KeyOf(record.Id)], args).ConfigureAwait(false);
            return result.Resp2Type == ResultType.Array
                ? new PaymentCreateResult(PaymentCreateOutcome.Existing, PaymentRecordFields.FromFlat(record.Id, (RedisResult[])result!))
                : new PaymentCreateResult(PaymentCreateOutcome.Created, record);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            redis.CountFallback();
            throw new PaymentStoreUnavailableException("The payment store (Redis) is unreachable.", ex);
        }
    }

    public async ValueTask<PaymentRecord?> GetAsync(Guid id)
    {
        try
        {
            var entries = await redis.Database.HashGetAllAsync(KeyOf(id)).ConfigureAwait(false);
            if (entries.Length == 0)
            {
                return null;
            }

            var flat = new RedisResult[entries.Length * 2];
            for (var i = 0; i < entries.Length; i++)
            {
                flat[2 * i] = RedisResult.Create(entries[i].Name);
                flat[(2 * i) + 1] = RedisResult.Create(entries[i].Value);
            }

            return PaymentRecordFields.FromFlat(id, flat);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            redis.CountFallback();
            throw new PaymentStoreUnavailableException("The payment store (Redis) is unreachable.", ex);
        }
    }

    public async ValueTask<PaymentTransition> TransitionAsync(PaymentStatusSet allowedBefore, PaymentRecord next)
    {
        var pairs = PaymentRecordFields.ToPairs(next);
        pairs.RemoveRange(2, 2); // the fingerprint never changes: it is compared instead
        var args = new RedisValue[pairs.Count + 3];
        args[0] = allowedBefore.ToDelimitedNames();
        args[1] = next.Fingerprint.ToString();
        args[2] = PaymentRecordFields.Absent(next);
        pairs.CopyTo(args, 3);
        try
        {
            var result = await redis.Database.ScriptEvaluateAsync(TransitionScript, [KeyOf(next.Id)], args).ConfigureAwait(false);
            return result.Resp2Type == ResultType.Array
                ? new PaymentTransition(false, PaymentRecordFields.FromFlat(next.Id, (RedisResult[])result!))
                : (long)result == 1 ? new PaymentTransition(true, next) : new PaymentTransition(false, null);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            redis.CountFallback();
            throw new PaymentStoreUnavailableException("The payment store (Redis) is unreachable.", ex);
        }
    }

    public async ValueTask<IReadOnlyList<Guid>> TakeDueAsync(int limit, TimeSpan lease)
    {
        try
        {
            var result = (RedisResult[])(await redis.Database.ScriptEvaluateAsync(
                TakeScript, [_due], [limit, Math.Max((long)lease.TotalMilliseconds, 1)]).ConfigureAwait(false))!;
            var ids = new List<Guid>(result.Length);
            foreach (var item in result)
            {
                if (Guid.TryParseExact((string?)item, "N", out var id))
                {
                    ids.Add(id);
                }
            }

            return ids;
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            redis.CountFallback();
            throw new PaymentStoreUnavailableException("The payment store (Redis) is unreachable.", ex);
        }
    }

    public async ValueTask CompleteAsync(Guid id)
    {
        try
        {
            await redis.Database.SortedSetRemoveAsync(_due, Member(id)).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            // Left due: whoever takes it next finds it final and completes it.
            redis.CountFallback();
        }
    }

    public async ValueTask<long> CountOpenAsync()
    {
        try
        {
            return await redis.Database.SortedSetLengthAsync(_due).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex))
        {
            redis.CountFallback();
            throw new PaymentStoreUnavailableException("The payment store (Redis) is unreachable.", ex);
        }
    }

    private static string Member(Guid id) => id.ToString("N");

    private RedisKey KeyOf(Guid id) => redis.Key("pay:" + id.ToString("N"), "record");
}
