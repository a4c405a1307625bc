using System.Text.Json;
using Facilitator.Fast.Analytics;
using Facilitator.Fast.Tests.Infrastructure;
using Facilitator.Fast.Tests.Payments;
using Facilitator.Fast;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Analytics;

/// <summary>
/// Analytics shared by two instances on a real <c>redis-server</c>: what either settles is counted once, and both
/// report the same totals.
/// </summary>
public sealed class SharedAnalyticsTests
{
    [Fact]
    public async Task Settle_OnBothInstancesAndReplayed_TotalsOnEachEqualTheSumSettledOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string Payment(int seed, int version, string value) =>
            PaymentSigner.Request(PaymentSigner.CreatePayer(400 + seed), version, now - 600, now + 600, value: value, amount: value);
        (GatewayHost Gateway, string Body)[] settles =
        [
            (a, Payment(1, 2, "1000000")),
            (a, Payment(2, 1, "2500000")),
            (a, Payment(3, 2, "10000")),
            (b, Payment(4, 2, "3000000")),
            (b, Payment(5, 1, "490000")),
        ];

        foreach (var (gateway, body) in settles)
        {
            (await gateway.PostAsync("/settle", body)).Dispose();
        }

        // Replays of settled payments, on the same and on the other instance, are answered from the ledger.
        (await a.PostAsync("/settle", settles[0].Body)).Dispose();
        (await b.PostAsync("/settle", settles[0].Body)).Dispose();
        (await a.PostAsync("/settle", settles[4].Body)).Dispose();

        Assert.Equal(5, upstream.CountOf("/settle"));
        Assert.Equal(5, Accepted(a) + Accepted(b));
        foreach (var gateway in new[] { a, b })
        {
            JsonElement overview = default;
            await Eventually.TrueAsync(
                async () => (overview = Json(await gateway.Client.GetStringAsync("/v1/analytics/overview"))).GetProperty("totalPayments").GetInt64() == 5,
                "every settled payment is counted");

            // 1 + 2.5 + 0.01 + 3 + 0.49; fees 0.001 + 0.0025 + 0.001 (minimum) + 0.003 + 0.001 (minimum).
            Assert.Equal("7", overview.GetProperty("totalVolume").GetString());
            Assert.Equal("0.0085", overview.GetProperty("totalFees").GetString());
            var revenue = Json(await gateway.Client.GetStringAsync("/v1/analytics/revenue?period=day"));
            Assert.Equal(("7", "0.0085", 5L), (revenue.GetProperty("totalVolume").GetString(), revenue.GetProperty("totalFees").GetString(), revenue.GetProperty("payments").GetInt64()));
            var network = Json(await gateway.Client.GetStringAsync("/v1/analytics/networks")).GetProperty("networks")[0];
            Assert.Equal(("eip155:84532", 5L), (network.GetProperty("chainId").GetString(), network.GetProperty("payments").GetInt64()));
        }
    }

    [Fact]
    public async Task Settle_ThroughSettleAndV1OnTwoInstances_AnalyticsAndV1StatusEqualTheSumSettledOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await PaymentLifecycleTests.UpstreamAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        // x402 only; /v1 only (verify on B, settle on A); both APIs for one authorization; verified and never settled.
        (await a.PostAsync("/settle", PaymentLifecycleTests.Payment(411, 1, "1000000"))).Dispose();
        var second = await PaymentLifecycleTests.VerifiedIdAsync(b, PaymentLifecycleTests.Payment(412, 1, "2000000"));
        (await PaymentLifecycleTests.SettleAsync(a, second)).Dispose();
        var both = PaymentLifecycleTests.Payment(413, 1, "500000");
        var third = await PaymentLifecycleTests.VerifiedIdAsync(a, both);
        (await b.PostAsync("/settle", both)).Dispose();
        using (var again = await PaymentLifecycleTests.SettleAsync(a, third))
        {
            Assert.Equal("settled", (await PaymentLifecycleTests.JsonOf(again)).GetProperty("status").GetString());
        }

        await PaymentLifecycleTests.VerifiedIdAsync(b, PaymentLifecycleTests.Payment(414, 1, "3000000"));

        Assert.Equal(3, upstream.CountOf("/settle"));
        foreach (var gateway in new[] { a, b })
        {
            JsonElement status = default;
            await Eventually.TrueAsync(
                async () => (status = Json(await gateway.Client.GetStringAsync("/v1/status"))).GetProperty("stats").GetProperty("totalPaymentsProcessed").GetInt64() == 3,
                "every settled payment is counted once");

            // 1 + 2 + 0.5; fees 0.001 + 0.002 + 0.001 (the minimum, not 0.0005).
            var stats = status.GetProperty("stats");
            Assert.Equal("3.5", stats.GetProperty("totalVolumeUsd").GetString());
            Assert.Equal("0.004", stats.GetProperty("totalFeesCollected").GetString());
            Assert.Equal(1, stats.GetProperty("pendingSettlements").GetInt64());
            Assert.Equal(3, stats.GetProperty("networkStats").GetProperty("eip155:84532").GetProperty("paymentsProcessed").GetInt64());
            Assert.Equal(ServiceVersion.Current, status.GetProperty("version").GetString());
            Assert.True(status.GetProperty("uptime").GetInt64() >= 0);
            var overview = Json(await gateway.Client.GetStringAsync("/v1/analytics/overview"));
            Assert.Equal(("3.5", "0.004", 3L), (overview.GetProperty("totalVolume").GetString(), overview.GetProperty("totalFees").GetString(), overview.GetProperty("totalPayments").GetInt64()));
        }
    }

    [Theory]
    [InlineData("/v1/status")]
    [InlineData("/v1/analytics/overview")]
    [InlineData("/v1/analytics/networks")]
    [InlineData("/v1/analytics/revenue?period=week")]
    public async Task Report_RedisStopped_503InTheErrorShape(string path)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await PaymentLifecycleTests.UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));
        using (var before = await gateway.Client.GetAsync(path))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, before.StatusCode);
        }

        await redis.StopAsync();

        using var response = await gateway.Client.GetAsync(path);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var error = Json(await response.Content.ReadAsStringAsync()).GetProperty("error");
        Assert.Equal("UPSTREAM_UNAVAILABLE", error.GetProperty("code").GetString());
        Assert.Contains("Redis", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static long Accepted(GatewayHost gateway) => gateway.Services.GetRequiredService<SettlementAnalytics>().Accepted;
}
