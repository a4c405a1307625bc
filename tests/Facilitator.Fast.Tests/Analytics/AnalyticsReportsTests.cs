using Facilitator.Fast.Analytics;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Health;
using static Facilitator.Fast.Tests.State.InMemoryAnalyticsStoreTests;

namespace Facilitator.Fast.Tests.Analytics;

public sealed class AnalyticsReportsTests
{
    private static readonly AnalyticsSeries BaseUsdc = new("eip155:8453", "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913");
    private static readonly AnalyticsSeries ArbitrumUsdc = new("eip155:42161", "0xaf88d065e77c8cc2239327c5edb3a432268e5831");
    private static readonly AnalyticsSeries BaseOther = new("eip155:8453", "0x1111111111111111111111111111111111111111");

    private static (AnalyticsReports Reports, InMemoryAnalyticsStore Store, DateTimeOffset Now) Create()
    {
        var (tracker, _, time, _) = UptimeTrackerTests.Create();
        time.Advance(new DateTimeOffset(2026, 3, 18, 12, 30, 0, TimeSpan.Zero) - time.GetUtcNow());
        var store = new InMemoryAnalyticsStore();
        return (new AnalyticsReports(store, tracker, time), store, time.GetUtcNow());
    }

    [Fact]
    public async Task OverviewAsync_UsdAndUnknownAssets_DollarTotalsAndUnknownInAtomicUnits()
    {
        var (reports, store, now) = Create();
        store.Add(Sample(BaseUsdc, "1500000", now, feeMicros: 1500, settlementMs: 100));
        store.Add(Sample(ArbitrumUsdc, "250000", now, feeMicros: 1000, settlementMs: 300));
        store.Add(Sample(BaseOther, "5000000000000000000", now, settlementMs: 200));

        var overview = await reports.OverviewAsync();

        Assert.Equal("1.75", overview.TotalVolume);
        Assert.Equal("0.0025", overview.TotalFees);
        Assert.Equal(3, overview.TotalPayments);
        Assert.Equal(200, overview.AverageSettlementTime);
        Assert.Equal(100, overview.Uptime);
        Assert.Equal(3, overview.Assets.Count);
        var other = Assert.Single(overview.Assets, a => a.Asset == BaseOther.Asset);
        Assert.Equal(("5000000000000000000", "atomic", false, null, null), (other.Volume, other.Units, other.Usd, other.Symbol, other.Decimals));
        var usdc = Assert.Single(overview.Assets, a => a.Asset == BaseUsdc.Asset);
        Assert.Equal(("1.5", "0.0015", "token", true, "USDC", 6), (usdc.Volume, usdc.Fees, usdc.Units, usdc.Usd, usdc.Symbol, usdc.Decimals));
    }

    [Fact]
    public async Task OverviewAsync_NothingSettled_Zeros()
    {
        var (reports, _, _) = Create();

        var overview = await reports.OverviewAsync();

        Assert.Equal(("0", "0", 0L, 0.0), (overview.TotalVolume, overview.TotalFees, overview.TotalPayments, overview.AverageSettlementTime));
        Assert.Empty(overview.Assets);
    }

    [Fact]
    public async Task NetworksAsync_TwoNetworks_PerCaip2WithGasNull()
    {
        var (reports, store, now) = Create();
        store.Add(Sample(BaseUsdc, "1000000", now.AddMinutes(-5)));
        store.Add(Sample(BaseOther, "7", now));
        store.Add(Sample(ArbitrumUsdc, "2000000", now.AddMinutes(-1)));

        var networks = (await reports.NetworksAsync()).Networks;

        Assert.Equal(["eip155:42161", "eip155:8453"], networks.Select(n => n.ChainId));
        var baseNetwork = networks[1];
        Assert.Equal(("1", 2L, now.ToUnixTimeMilliseconds()), (baseNetwork.Volume, baseNetwork.Payments, baseNetwork.LastActivity));
        Assert.All(networks, n => Assert.Null(n.AverageGas));
    }

    [Fact]
    public async Task RevenueAsync_Day_HoursOfTodayOnlyWithPerNetworkFigures()
    {
        var (reports, store, now) = Create();
        store.Add(Sample(BaseUsdc, "1000000", now, feeMicros: 1000));
        store.Add(Sample(ArbitrumUsdc, "3000000", now.AddHours(-2), feeMicros: 3000));
        store.Add(Sample(BaseUsdc, "9000000", now.AddDays(-1), feeMicros: 9000));

        var revenue = await reports.RevenueAsync(RevenuePeriod.Day);

        Assert.Equal("day", revenue.Period);
        Assert.Equal(new DateTimeOffset(2026, 3, 18, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), revenue.From);
        Assert.Equal(new DateTimeOffset(2026, 3, 19, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), revenue.To);
        Assert.Equal(24, revenue.Buckets.Count);
        Assert.Equal(("4", "0.004", 2L), (revenue.TotalVolume, revenue.TotalFees, revenue.Payments));
        Assert.Equal("1", revenue.Buckets[12].Networks["eip155:8453"].Volume);
        Assert.Equal("3", revenue.Buckets[10].Volume);
        Assert.Equal(revenue.Buckets[10].End, revenue.Buckets[11].Start);
        Assert.Equal(new RevenueFigures("3", "0.003", 1), revenue.ByNetwork["eip155:42161"]);
        Assert.All(revenue.Buckets.Skip(13), b => Assert.Equal(0, b.Payments));
    }

    [Fact]
    public async Task RevenueAsync_Week_DaysFromMonday()
    {
        var (reports, store, now) = Create();
        store.Add(Sample(BaseUsdc, "1000000", now.AddDays(-2)));
        store.Add(Sample(BaseUsdc, "1000000", now.AddDays(-3)));

        var revenue = await reports.RevenueAsync(RevenuePeriod.Week);

        // 2026-03-18 is a Wednesday: Monday the 16th counts, Sunday the 15th does not.
        Assert.Equal(7, revenue.Buckets.Count);
        Assert.Equal(1, revenue.Payments);
        Assert.Equal(1, revenue.Buckets[0].Payments);
    }

    [Fact]
    public async Task StatsAsync_PendingGiven_SeedShapeKeyedByCaip2()
    {
        var (reports, store, now) = Create();
        store.Add(Sample(BaseUsdc, "1000000", now, feeMicros: 1000, settlementMs: 50));

        var stats = await reports.StatsAsync(pendingSettlements: 4);

        Assert.Equal((1L, "1", "0.001", 4L, 50.0), (stats.TotalPaymentsProcessed, stats.TotalVolumeUsd, stats.TotalFeesCollected, stats.PendingSettlements, stats.AverageSettlementTime));
        var network = stats.NetworkStats["eip155:8453"];
        Assert.Equal(("eip155:8453", 1L, "1", "0.001", (string?)null, now.ToUnixTimeMilliseconds()),
            (network.ChainId, network.PaymentsProcessed, network.VolumeUsd, network.FeesCollected, network.AverageGasCost, network.LastSettlement));
    }
}
