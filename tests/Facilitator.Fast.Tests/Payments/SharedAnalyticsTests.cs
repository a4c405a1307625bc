using System.Text.Json;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Payments;

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

    private static long Accepted(GatewayHost gateway) => gateway.Services.GetRequiredService<SettlementAnalytics>().Accepted;
}
