using System.Net;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;
using static Facilitator.Fast.Tests.Settlement.SettlementCoordinatorTests;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// The settlement ledger shared by two instances on a real <c>redis-server</c>: nonce reuse refused on any instance,
/// exclusion kept whatever the instances' clocks say, waiters woken by announcements, and writes whose answers were
/// lost resolved or retried.
/// </summary>
public sealed class SharedSettlementTests
{
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";

    [Fact]
    public async Task Settle_NonceReusedOnTheOtherInstance_RefusedThere()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        using (var cent = await a.PostAsync("/settle", Authorization(61, "10000")))
        {
            Assert.Equal(Settled, await cent.Content.ReadAsStringAsync());
        }

        using var fifty = await b.PostAsync("/settle", Authorization(61, "50000000"));

        await AssertNonceReusedAsync(fifty);
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_NonceReusedOnTheOtherInstanceWhileTheFirstIsInFlight_RefusedAtOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        var cent = a.PostAsync("/settle", Authorization(62, "10000"));
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the first settle reaches the upstream");
        using (var fifty = await b.PostAsync("/settle", Authorization(62, "50000000")))
        {
            Assert.False(cent.IsCompleted);
            await AssertNonceReusedAsync(fifty);
        }

        release.SetResult();
        using var first = await cent;
        Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Theory]
    [InlineData(-5, -5)]
    [InlineData(-3, 4)]
    public async Task Settle_InstanceClocksMinutesOffFromRedis_ClaimStillExcludesTheOtherInstance(int minutesA, int minutesB)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(1500), 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings, new ManualTimeProvider(DateTimeOffset.UtcNow.AddMinutes(minutesA)));
        await using var b = await GatewayHost.StartAsync(settings, new ManualTimeProvider(DateTimeOffset.UtcNow.AddMinutes(minutesB)));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(63), 2, now - 3600, now + 3600);

        var first = a.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "A's settle reaches the upstream");
        using var second = await b.PostAsync("/settle", payment);
        using var firstResponse = await first;

        Assert.Equal(Settled, await firstResponse.Content.ReadAsStringAsync());
        Assert.Equal(Settled, await second.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_RecordExpiry_RelativeToRedisAndCappedWhateverValidBeforeSays()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Settlement:MaxRetentionHours"] = "2";
        await using var gateway = await GatewayHost.StartAsync(settings, new ManualTimeProvider(DateTimeOffset.UtcNow.AddMinutes(-10)));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        (await gateway.PostAsync("/settle", PaymentSigner.Request(PaymentSigner.CreatePayer(64), 2, now - 3600, now + 365 * 86_400))).Dispose();

        var keys = await redis.CommandAsync("KEYS", settings["Redis:KeyPrefix"] + "{settle:*");
        var key = keys.Split("\r\n").Single(static line => line.Contains("{settle:", StringComparison.Ordinal));
        var ttl = long.Parse((await redis.CommandAsync("PTTL", key)).Trim(':', '\r', '\n'), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(ttl, TimeSpan.FromHours(2).TotalMilliseconds - 60_000, TimeSpan.FromHours(2).TotalMilliseconds);
        Assert.Equal(settings["Redis:KeyPrefix"]!.Length + "{settle:}:record".Length + 64, key.Length);
    }

    [Fact]
    public async Task Settle_WaiterOnTheOtherInstance_WokenByTheAnnouncementNotByItsPoll()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(800), 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));

        // Polls a minute apart: only the announcement over pub/sub can wake the waiter in time.
        settings["Settlement:PollMs"] = "60000";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(2, seed: 65);

        var first = a.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "A's settle reaches the upstream");
        var second = b.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => second.IsCompleted, "B's waiter is woken", timeoutMs: 15_000);

        using var secondResponse = await second;
        (await first).Dispose();
        Assert.Equal(Settled, await secondResponse.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_ClaimWriteTimesOutOnTheClient_ResolvedByReadingItBack()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(2, seed: 66);
        (await a.Client.GetAsync("/health")).Dispose();

        // Writers are paused longer than the client's 2 s timeout: Redis runs the claim after the client gave up on it.
        Assert.StartsWith("+OK", await redis.CommandAsync("CLIENT", "PAUSE", "3000", "WRITE"), StringComparison.Ordinal);
        using var settled = await a.PostAsync("/settle", payment);

        Assert.Equal(Settled, await settled.Content.ReadAsStringAsync());
        using var repeat = await b.PostAsync("/settle", payment);
        Assert.Equal("replayed", Header(repeat, "X-Facilitator-Settlement"));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_OutcomeWriteFailsWhileRedisPauses_RetriedUntilItLands()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var paused = upstream.Hold("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(1, seed: 67);

        var first = a.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the settle reaches the upstream");
        Assert.StartsWith("+OK", await redis.CommandAsync("CLIENT", "PAUSE", "9000", "WRITE"), StringComparison.Ordinal);
        paused.SetResult();

        using var firstResponse = await first;
        Assert.Equal(Settled, await firstResponse.Content.ReadAsStringAsync());
        var retries = a.Services.GetRequiredService<Facilitator.Fast.Settlement.SettlementLedger>().Retries;
        await Eventually.TrueAsync(() => retries.Landed == 1, "the outcome lands on a retry", timeoutMs: 20_000);

        using var repeat = await b.PostAsync("/settle", payment);
        Assert.Equal(Settled, await repeat.Content.ReadAsStringAsync());
        Assert.Equal("replayed", Header(repeat, "X-Facilitator-Settlement"));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Start_RedisMayEvictOrLoseKeys_PolicyAndAppendOnlyShownAndWarned()
    {
        await using var redis = await RedisServer.StartAsync("--maxmemory-policy", "allkeys-lru");
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));

        var checks = Json(await gateway.Client.GetStringAsync("/health")).GetProperty("checks");

        Assert.Equal("allkeys-lru", checks.GetProperty("redisMaxmemoryPolicy").GetString());
        Assert.Equal("no", checks.GetProperty("redisAppendOnly").GetString());
        Assert.Equal("allkeys-lru", gateway.Services.GetRequiredService<RedisConnection>().EvictionPolicy);
    }

    [Fact]
    public async Task Health_RedisAway_ReadyDegradedWithTheReasonAndSettleRefused()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));

        await redis.StopAsync();
        await Eventually.TrueAsync(
            async () => Json(await (await gateway.Client.GetAsync("/health")).Content.ReadAsStringAsync()).GetProperty("status").GetString() == "degraded",
            "the instance sees Redis away");

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/health/ready")).StatusCode);
        var redisCheck = Json(await (await gateway.Client.GetAsync("/health")).Content.ReadAsStringAsync()).GetProperty("checks").GetProperty("redis").GetString();
        Assert.Contains("settles are refused", redisCheck, StringComparison.Ordinal);
        using var verify = await gateway.PostAsync("/verify", TestPayments.V2);
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        using var settle = await gateway.PostAsync("/settle", PaymentSigner.ValidNow(2, seed: 68));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, settle.StatusCode);
        Assert.Equal(0, upstream.CountOf("/settle"));
    }
}
