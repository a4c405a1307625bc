using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>Hedged verify calls: the next upstream gets the same bytes when the first is slow, within a budget; never for settle.</summary>
public sealed class HedgingTests
{
    private static Dictionary<string, string?> Settings(FakeFacilitator primary, FakeFacilitator secondary, int hedgeDelayMs)
    {
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:HedgeMinDelayMs"] = hedgeDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Aggregator:HedgeMaxDelayMs"] = hedgeDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return settings;
    }

    [Fact]
    public async Task Verify_PrimaryStalls_HedgeToSecondaryWinsAndPrimaryRequestIsCancelled()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/verify");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary, secondary, 100));

        using var response = await gateway.PostAsync("/verify", TestPayments.V2);

        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal("2", Header(response, "X-Facilitator-Attempts"));
        await Eventually.TrueAsync(() => primary.Cancelled == 1, "the primary's request is cancelled");
        var stats = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=stats")).GetProperty("statistics").GetProperty("facilitators");
        Assert.Equal(1, stats[1].GetProperty("hedging").GetProperty("fired").GetInt64());
        Assert.Equal(1, stats[1].GetProperty("hedging").GetProperty("won").GetInt64());
    }

    [Fact]
    public async Task Verify_PrimaryFasterThanHedgeDelay_NoHedge()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(primary, secondary, 2000));

        for (var i = 0; i < 5; i++)
        {
            (await gateway.PostAsync("/verify", TestPayments.V1)).Dispose();
        }

        Assert.Equal(0, secondary.CountOf("/verify"));
    }

    [Fact]
    public async Task Verify_EveryUpstreamSlow_BudgetStopsTheHedges()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        const string Valid = """{"isValid":true}""";
        primary.AnswerLate("/verify", TimeSpan.FromMilliseconds(120), 200, Valid);
        secondary.AnswerLate("/verify", TimeSpan.FromMilliseconds(120), 200, Valid);
        var settings = Settings(primary, secondary, 10);
        settings["Aggregator:ExtraRequestRatio"] = "0.1";
        settings["Aggregator:ExtraRequestMinimum"] = "2";
        await using var gateway = await GatewayHost.StartAsync(settings);

        for (var i = 0; i < 30; i++)
        {
            (await gateway.PostAsync("/verify", TestPayments.V1)).Dispose();
        }

        var hedging = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=stats"))
            .GetProperty("statistics").GetProperty("facilitators")[1].GetProperty("hedging");
        var fired = hedging.GetProperty("fired").GetInt64();
        Assert.InRange(fired, 1, 2 + 3);
        Assert.True(hedging.GetProperty("budgetRefusals").GetInt64() >= 30 - fired - 1);
        Assert.InRange(secondary.CountOf("/verify"), 0, fired);
    }

    [Fact]
    public async Task Settle_PrimarySlow_NeverHedged()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.AnswerLate("/settle", TimeSpan.FromMilliseconds(300), 200, """{"success":true,"transaction":"0x1","network":"base-sepolia"}""");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary, secondary, 10));

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal("primary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }
}
