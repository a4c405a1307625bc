using System.Globalization;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// The analytics store shared by every instance: one Redis hash per bucket (<c>{prefix}{analytics}:hour:2026010113</c>,
/// <c>:day:20260101</c>, <c>:month:202601</c>, <c>:all</c>), all under one hash tag so a single script may touch them
/// on a cluster. A payment is one script call that updates the same fields of the four hashes — a fixed amount of work
/// whatever the history — and sets a relative expiry on the three dated ones (the totals never expire).
/// </summary>
/// <remarks>
/// Fields are <c>&lt;network&gt;|&lt;asset&gt;|&lt;counter&gt;</c>: <c>n</c> payments, <c>v0</c>…<c>v6</c> volume and
/// <c>f0</c>…<c>f6</c> fee limbs (base 10^12, see <see cref="DecimalLimbs"/>; only non-zero ones are written), <c>t</c>
/// the settlement-time sum (ms), <c>l</c> the last activity (ms). The totals hash also counts its series in <c>_series</c>,
/// which bounds them at <see cref="AnalyticsBuckets.MaxSeries"/>.
/// </remarks>
internal sealed class RedisAnalyticsStore(RedisConnection redis) : IAnalyticsStore
{
    public const string HashTag = "analytics";

    // KEYS: hour, day, month, all. ARGV: series, settlement ms, at ms, hour/day/month TTL (s), max series,
    // volume limb count nv, nv limbs, fee limb count nf, nf limbs.
    private const string AddScript = """
        local series = ARGV[1]
        if redis.call('HEXISTS', KEYS[4], series .. '|n') == 0 then
          local known = tonumber(redis.call('HGET', KEYS[4], '_series') or '0')
          if known >= tonumber(ARGV[7]) then return 0 end
          redis.call('HINCRBY', KEYS[4], '_series', 1)
        end
        local nv = tonumber(ARGV[8])
        local nf = tonumber(ARGV[9 + nv])
        local function add(key, name, first, count)
          local carry = 0
          local i = 0
          while i < count or carry > 0 do
            local delta = carry
            if i < count then delta = delta + tonumber(ARGV[first + i]) end
            carry = 0
            if delta > 0 then
              local field = series .. '|' .. name .. i
              local value = redis.call('HINCRBY', key, field, delta)
              if i < 6 and value >= 1000000000000 then
                redis.call('HINCRBY', key, field, '-1000000000000')
                carry = 1
              end
            end
            i = i + 1
          end
        end
        local at = tonumber(ARGV[3])
        for k = 1, 4 do
          local key = KEYS[k]
          redis.call('HINCRBY', key, series .. '|n', 1)
          add(key, 'v', 9, nv)
          add(key, 'f', 10 + nv, nf)
          redis.call('HINCRBY', key, series .. '|t', ARGV[2])
          local last = tonumber(redis.call('HGET', key, series .. '|l') or '0')
          if at > last then redis.call('HSET', key, series .. '|l', ARGV[3]) end
          if k < 4 then redis.call('EXPIRE', key, ARGV[3 + k]) end
        end
        return 1
        """;

    private static readonly RedisValue[] s_ttls =
    [
        (long)AnalyticsBuckets.HourRetention.TotalSeconds,
        (long)AnalyticsBuckets.DayRetention.TotalSeconds,
        (long)AnalyticsBuckets.MonthRetention.TotalSeconds,
    ];

    public async ValueTask<bool> AddAsync(AnalyticsSample sample)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(sample.AtMs);
        RedisKey[] keys =
        [
            KeyOf(AnalyticsBucketKind.Hour, at),
            KeyOf(AnalyticsBucketKind.Day, at),
            KeyOf(AnalyticsBucketKind.Month, at),
            KeyOf(AnalyticsBucketKind.AllTime, at),
        ];
        var volume = sample.Volume.Length;
        var fees = sample.FeeMicros.Length;
        var args = new RedisValue[9 + volume + fees];
        args[0] = sample.Series.ToString();
        args[1] = Math.Max(sample.SettlementMs, 0);
        args[2] = sample.AtMs;
        s_ttls.CopyTo(args, 3);
        args[6] = AnalyticsBuckets.MaxSeries;
        args[7] = volume;
        for (var i = 0; i < volume; i++)
        {
            args[8 + i] = sample.Volume[i];
        }

        args[8 + volume] = fees;
        for (var i = 0; i < fees; i++)
        {
            args[9 + volume + i] = sample.FeeMicros[i];
        }

        var added = await redis.Database.ScriptEvaluateAsync(AddScript, keys, args).ConfigureAwait(false);
        return (long)added == 1;
    }

    public async ValueTask<IReadOnlyDictionary<AnalyticsSeries, SeriesCounters>[]> ReadAsync(AnalyticsBucketKind kind, IReadOnlyList<DateTimeOffset> starts)
    {
        var batch = redis.Database.CreateBatch();
        var reads = new Task<HashEntry[]>[starts.Count];
        for (var i = 0; i < starts.Count; i++)
        {
            reads[i] = batch.HashGetAllAsync(KeyOf(kind, starts[i]));
        }

        batch.Execute();
        var result = new IReadOnlyDictionary<AnalyticsSeries, SeriesCounters>[starts.Count];
        for (var i = 0; i < reads.Length; i++)
        {
            result[i] = Parse(await reads[i].ConfigureAwait(false));
        }

        return result;
    }

    private RedisKey KeyOf(AnalyticsBucketKind kind, DateTimeOffset at) =>
        redis.Key(HashTag, AnalyticsBuckets.Id(kind, AnalyticsBuckets.StartOf(kind, at)));

    /// <summary>Reads a bucket's hash back into counters; a field it does not understand is skipped.</summary>
    internal static Dictionary<AnalyticsSeries, SeriesCounters> Parse(HashEntry[] entries)
    {
        var counters = new Dictionary<AnalyticsSeries, SeriesCounters>();
        foreach (var entry in entries)
        {
            var field = (string?)entry.Name;
            var last = field?.LastIndexOf('|') ?? -1;
            var first = field?.IndexOf('|') ?? -1;
            if (field is null || first <= 0 || last <= first + 1 || last == field.Length - 1
                || !long.TryParse((string?)entry.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            var series = new AnalyticsSeries(field[..first], field[(first + 1)..last]);
            ref var counter = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counters, series, out _);
            var name = field.AsSpan(last + 1);
            switch (name[0])
            {
                case 'n' when name.Length == 1:
                    counter.Payments = value;
                    break;
                case 't' when name.Length == 1:
                    counter.SettlementMsSum = value;
                    break;
                case 'l' when name.Length == 1:
                    counter.LastActivityMs = value;
                    break;
                case 'v' or 'f' when name.Length == 2 && name[1] - '0' is >= 0 and < DecimalLimbs.Count:
                    (name[0] == 'v' ? ref counter.Volume : ref counter.FeeMicros).SetLimb(name[1] - '0', value);
                    break;
            }
        }

        return counters;
    }
}
