using System.Globalization;
using System.Numerics;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using static Facilitator.Fast.Tests.State.InMemoryAnalyticsStoreTests;

namespace Facilitator.Fast.Tests.State;

/// <summary>The Redis analytics store on a real <c>redis-server</c>: the script's carries, keys and expiries.</summary>
public sealed class RedisAnalyticsStoreTests
{
    private static readonly AnalyticsSeries Usdc = new("eip155:8453", "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913");
    private static readonly DateTimeOffset At = new(2026, 3, 14, 15, 9, 26, TimeSpan.Zero);

    private static async Task<(RedisConnection Connection, string Prefix)> ConnectAsync(RedisServer redis)
    {
        var prefix = $"test-{Guid.NewGuid():N}:";
        var connection = RedisConnection.Connect(
            new RedisOptions { ConnectionString = redis.ConnectionString, KeyPrefix = prefix }, NullLogger.Instance, TimeProvider.System);
        await Eventually.TrueAsync(() => connection.IsConnected, "the client connects");
        return (connection, prefix);
    }

    [Fact]
    public async Task AddAsync_AmountsThatCarryAcrossLimbs_SameExactSumsAsInMemory()
    {
        await using var redis = await RedisServer.StartAsync();
        var (connection, _) = await ConnectAsync(redis);
        await using var _c = connection;
        var store = new RedisAnalyticsStore(connection);
        var memory = new InMemoryAnalyticsStore();
        var random = new Random(13);
        var expected = BigInteger.Zero;
        string[] amounts =
        [
            "999999999999", "1", "999999999999999999999999", "1", "115792089237316195423570985008687907853269984665640564039457584007913129639935",
            "115792089237316195423570985008687907853269984665640564039457584007913129639935", "1000000000000",
        ];
        var samples = amounts.Concat(Enumerable.Range(0, 50).Select(_ => new BigInteger(random.NextInt64()) * random.NextInt64() * random.NextInt64()).Select(static b => BigInteger.Abs(b).ToString(CultureInfo.InvariantCulture)));

        foreach (var amount in samples)
        {
            var sample = Sample(Usdc, amount, At, feeMicros: 999_999_999_999, settlementMs: 7);
            Assert.True(await store.AddAsync(sample));
            memory.Add(sample);
            expected += BigInteger.Parse(amount, CultureInfo.InvariantCulture);
        }

        foreach (var kind in Enum.GetValues<AnalyticsBucketKind>())
        {
            var shared = (await store.ReadAsync(kind, [At]))[0][Usdc];
            var local = (await memory.ReadAsync(kind, [At]))[0][Usdc];
            Assert.Equal(expected, shared.Volume.ToBigInteger());
            Assert.Equal(local.Volume, shared.Volume);
            Assert.Equal(local.FeeMicros, shared.FeeMicros);
            Assert.Equal(new BigInteger(999_999_999_999) * 57, shared.FeeMicros.ToBigInteger());
            Assert.Equal((57L, 57L * 7, At.ToUnixTimeMilliseconds()), (shared.Payments, shared.SettlementMsSum, shared.LastActivityMs));
        }
    }

    [Fact]
    public async Task AddAsync_OnePayment_FourHashesUnderOneHashTagDatedOnesExpiring()
    {
        await using var redis = await RedisServer.StartAsync();
        var (connection, prefix) = await ConnectAsync(redis);
        await using var _c = connection;

        await new RedisAnalyticsStore(connection).AddAsync(Sample(Usdc, "1", At));

        var keys = (await redis.CommandAsync("KEYS", prefix + "*")).Split("\r\n").Where(static l => l.StartsWith("test-", StringComparison.Ordinal)).Order().ToArray();
        Assert.Equal(
            [prefix + "{analytics}:all", prefix + "{analytics}:day:20260314", prefix + "{analytics}:hour:2026031415", prefix + "{analytics}:month:202603"],
            keys);
        Assert.Equal(":-1\r\n", await redis.CommandAsync("TTL", keys[0]));
        Assert.InRange(Ttl(await redis.CommandAsync("TTL", keys[1])), 39 * 86_400, 40 * 86_400);
        Assert.InRange(Ttl(await redis.CommandAsync("TTL", keys[2])), 2 * 86_400, 3 * 86_400);
        Assert.InRange(Ttl(await redis.CommandAsync("TTL", keys[3])), 399 * 86_400, 400 * 86_400);
    }

    [Fact]
    public async Task AddAsync_EarlierPaymentAfterALaterOne_LastActivityKeepsTheLater()
    {
        await using var redis = await RedisServer.StartAsync();
        var (connection, _) = await ConnectAsync(redis);
        await using var _c = connection;
        var store = new RedisAnalyticsStore(connection);

        await store.AddAsync(Sample(Usdc, "1", At.AddMinutes(5)));
        await store.AddAsync(Sample(Usdc, "1", At));

        Assert.Equal(At.AddMinutes(5).ToUnixTimeMilliseconds(), (await store.ReadAsync(AnalyticsBucketKind.AllTime, [At]))[0][Usdc].LastActivityMs);
    }

    [Fact]
    public async Task AddAsync_MoreSeriesThanTheBound_NewSeriesRefusedKnownOnesCounted()
    {
        await using var redis = await RedisServer.StartAsync();
        var (connection, _) = await ConnectAsync(redis);
        await using var _c = connection;
        var store = new RedisAnalyticsStore(connection);
        for (var i = 0; i < AnalyticsBuckets.MaxSeries; i++)
        {
            Assert.True(await store.AddAsync(Sample(new AnalyticsSeries("eip155:1", "0x" + i.ToString("x40", CultureInfo.InvariantCulture)), "1", At)));
        }

        Assert.False(await store.AddAsync(Sample(Usdc, "1", At)));
        Assert.True(await store.AddAsync(Sample(new AnalyticsSeries("eip155:1", "0x" + 0.ToString("x40", CultureInfo.InvariantCulture)), "1", At)));
        var totals = (await store.ReadAsync(AnalyticsBucketKind.AllTime, [At]))[0];
        Assert.Equal(AnalyticsBuckets.MaxSeries, totals.Count);
        Assert.False(totals.ContainsKey(Usdc));
    }

    private static long Ttl(string reply) => long.Parse(reply.Trim(':', '\r', '\n'), CultureInfo.InvariantCulture);
}
