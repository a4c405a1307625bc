using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.State;

/// <summary>Two instances of the service sharing a real redis-server behave as one.</summary>
public sealed class RedisSharedStateTests
{
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";

    [Fact]
    public async Task Health_UpstreamFailsForInstanceA_InstanceBAvoidsItWithoutFailingFirst()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/verify", 500, "{}");
        var settings = redis.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_RETRIES"] = "0";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        (await a.PostAsync("/verify", SignedPayments.V1)).Dispose();
        (await a.PostAsync("/verify", SignedPayments.V1)).Dispose();
        Assert.Equal(2, primary.CountOf("/verify"));
        await Eventually.TrueAsync(async () => !await PrimaryHealthyAsync(b), "instance B learns that the primary is unhealthy");

        using var response = await b.PostAsync("/verify", SignedPayments.V1);

        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal("1", Header(response, "X-Facilitator-Attempts"));
        Assert.Equal(2, primary.CountOf("/verify"));
    }

    [Fact]
    public async Task Health_PrimaryRecoversOnOneInstance_BothRouteToItAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/supported", 503, "{}");
        var settings = redis.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        settings["Aggregator:CheckHealthMinIntervalMs"] = "0";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        (await a.PostAsync("/api/facilitator-status", """{"action":"check-health"}""")).Dispose();
        await Eventually.TrueAsync(async () => !await PrimaryHealthyAsync(b), "B sees the primary down");

        // The kinds A reads reach B too (shared capabilities): the primary lists the payment's kind.
        primary.Answer("/supported", 200, """{"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"}]}""");
        (await a.PostAsync("/api/facilitator-status", """{"action":"check-health"}""")).Dispose();

        await Eventually.TrueAsync(async () => await PrimaryHealthyAsync(b), "B sees the primary back");
        using var response = await b.PostAsync("/verify", SignedPayments.V1);
        Assert.Equal("primary", Header(response, "X-Facilitator-Upstream"));
    }

    [Fact]
    public async Task Settle_100ConcurrentIdenticalAcrossTwoInstances_OneUpstreamCallAndOneAnswer()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(300), 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(2, seed: 31);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => (i % 2 == 0 ? a : b).PostAsync("/settle", payment)));

        Assert.Equal(1, upstream.CountOf("/settle"));
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Settled, await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Settle_PendingOnInstanceA_RepeatOnInstanceBGoesToTheSameUpstream()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        var settings = redis.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(1, seed: 32);

        using (var first = await a.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        primary.Answer("/settle", 200, Settled);
        using var repeat = await b.PostAsync("/settle", payment);

        Assert.Equal(Settled, await repeat.Content.ReadAsStringAsync());
        Assert.Equal("primary", Header(repeat, "X-Facilitator-Upstream"));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Redis_StoppedMidTest_BothInstancesKeepAnsweringDegradedThenRecover(bool localSettlementFallback)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = localSettlementFallback ? "true" : "false";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        await redis.StopAsync();

        foreach (var gateway in new[] { a, b })
        {
            await Eventually.TrueAsync(async () => await HealthStatusAsync(gateway) == "degraded", "the instance reports Redis unreachable");
            using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);
            Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
            using var settle = await gateway.PostAsync("/settle", PaymentSigner.ValidNow(2, seed: 33, nonceSeed: gateway == a ? 1 : 2));
            if (localSettlementFallback)
            {
                Assert.Equal(HttpStatusCode.OK, settle.StatusCode);
            }
            else
            {
                // Without the shared ledger a settle could reach a second upstream: refused, and nothing sent.
                Assert.Equal(HttpStatusCode.ServiceUnavailable, settle.StatusCode);
                Assert.Contains("ledger", Json(await settle.Content.ReadAsStringAsync()).GetProperty("errorMessage").GetString());
            }

            // Verifies need no Redis: the instance stays in the load balancer, and /health says why it is degraded.
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/health/ready")).StatusCode);
            Assert.StartsWith("unreachable", await RedisCheckAsync(gateway), StringComparison.Ordinal);
        }

        Assert.Equal(localSettlementFallback ? 2 : 0, upstream.CountOf("/settle"));

        await redis.StartAgainAsync();

        foreach (var gateway in new[] { a, b })
        {
            await Eventually.TrueAsync(async () => await HealthStatusAsync(gateway) == "healthy", "the instance reconnects", timeoutMs: 20_000);
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/health/ready")).StatusCode);
        }
    }

    [Fact]
    public async Task Probes_TwoInstancesSharingTheLock_OneProbesPerInterval()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["FACILITATOR_HEALTH_CHECK"] = "true";
        settings["FACILITATOR_HEALTH_CHECK_INTERVAL_MS"] = "1000";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        await Eventually.TrueAsync(() => upstream.CountOf("/supported") >= 2, "both instances have started probing");
        var before = upstream.CountOf("/supported");
        await Task.Delay(TimeSpan.FromMilliseconds(3000));

        // Two instances over three intervals: one probe per interval (give or take a boundary), not one per instance.
        Assert.InRange(upstream.CountOf("/supported") - before, 2, 4);
    }

    private static async Task<bool> PrimaryHealthyAsync(GatewayHost gateway) =>
        Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health"))
            .GetProperty("health").GetProperty("facilitators")[0].GetProperty("isHealthy").GetBoolean();

    private static async Task<string?> RedisCheckAsync(GatewayHost gateway)
    {
        using var response = await gateway.Client.GetAsync("/health");
        return Json(await response.Content.ReadAsStringAsync()).GetProperty("checks").GetProperty("redis").GetString();
    }

    private static async Task<string?> HealthStatusAsync(GatewayHost gateway)
    {
        using var response = await gateway.Client.GetAsync("/health");
        return Json(await response.Content.ReadAsStringAsync()).GetProperty("status").GetString();
    }

    [Fact]
    public async Task Settle_RedisFailsWhileASecondCallerWaits_NoSecondUpstreamCall()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(1500), 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(2, seed: 34);

        var first = a.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "A's settle reaches the upstream");
        var second = b.PostAsync("/settle", payment);
        await Task.Delay(200);
        await redis.StopAsync();

        using var firstResponse = await first;
        using var secondResponse = await second;
        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, secondResponse.StatusCode);
        Assert.Equal(1, upstream.CountOf("/settle"));
    }
}
