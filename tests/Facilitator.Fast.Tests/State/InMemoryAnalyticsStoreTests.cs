using System.Globalization;
using System.Text;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Tests.State;

public sealed class InMemoryAnalyticsStoreTests
{
    private static readonly AnalyticsSeries Usdc = new("eip155:84532", "0x036cbd53842c5426634e7929541ec2318f3dcf7e");

    internal static AnalyticsSample Sample(AnalyticsSeries series, string amount, DateTimeOffset at, long feeMicros = 0, long settlementMs = 100)
    {
        DecimalLimbs.TryParse(Encoding.ASCII.GetBytes(amount), out var volume);
        DecimalLimbs.TryParse(Encoding.ASCII.GetBytes(feeMicros.ToString(CultureInfo.InvariantCulture)), out var fee);
        return new AnalyticsSample(series, volume, fee, settlementMs, at.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Add_TwoPaymentsInOneHour_CountedInTheHourDayMonthAndTotals()
    {
        var store = new InMemoryAnalyticsStore();
        var at = new DateTimeOffset(2026, 3, 14, 15, 9, 26, TimeSpan.Zero);

        store.Add(Sample(Usdc, "1000000", at, feeMicros: 1000, settlementMs: 40));
        store.Add(Sample(Usdc, "2500000", at.AddMinutes(30), feeMicros: 2500, settlementMs: 60));

        foreach (var kind in Enum.GetValues<AnalyticsBucketKind>())
        {
            var counters = (await store.ReadAsync(kind, [at]))[0][Usdc];
            Assert.Equal(2, counters.Payments);
            Assert.Equal("3500000", counters.Volume.ToString());
            Assert.Equal("3500", counters.FeeMicros.ToString());
            Assert.Equal(100, counters.SettlementMsSum);
            Assert.Equal(at.AddMinutes(30).ToUnixTimeMilliseconds(), counters.LastActivityMs);
        }
    }

    [Theory]
    [InlineData("2026-03-14T15:59:59.999Z", "2026-03-14T16:00:00Z", "Hour", "Day")]
    [InlineData("2026-03-14T23:59:59.999Z", "2026-03-15T00:00:00Z", "Day", "Month")]
    [InlineData("2026-03-31T23:59:59.999Z", "2026-04-01T00:00:00Z", "Month", "AllTime")]
    [InlineData("2026-12-31T23:59:59.999Z", "2027-01-01T00:00:00Z", "Month", "AllTime")]
    public async Task Add_EitherSideOfAUtcBoundary_TwoBucketsBelowOneAbove(string before, string after, string splitKind, string sharedKind)
    {
        var split = Enum.Parse<AnalyticsBucketKind>(splitKind);
        var shared = Enum.Parse<AnalyticsBucketKind>(sharedKind);
        var store = new InMemoryAnalyticsStore();
        var first = DateTimeOffset.Parse(before, CultureInfo.InvariantCulture);
        var second = DateTimeOffset.Parse(after, CultureInfo.InvariantCulture);

        store.Add(Sample(Usdc, "1", first));
        store.Add(Sample(Usdc, "1", second));

        var buckets = await store.ReadAsync(split, [first, second]);
        Assert.Equal(1, buckets[0][Usdc].Payments);
        Assert.Equal(1, buckets[1][Usdc].Payments);
        Assert.Equal(2, (await store.ReadAsync(shared, [second]))[0][Usdc].Payments);
    }

    [Fact]
    public async Task Add_TimeZoneOffsetOfTheClock_BucketedInUtc()
    {
        var store = new InMemoryAnalyticsStore();

        // 01:30 at +02:00 is 23:30 UTC of the day before.
        store.Add(Sample(Usdc, "1", new DateTimeOffset(2026, 3, 15, 1, 30, 0, TimeSpan.FromHours(2))));

        var day = (await store.ReadAsync(AnalyticsBucketKind.Day, [new DateTimeOffset(2026, 3, 14, 12, 0, 0, TimeSpan.Zero)]))[0];
        Assert.Equal(1, day[Usdc].Payments);
    }

    [Fact]
    public async Task Add_AYearOfHourlyPayments_OldBucketsPrunedTotalsKept()
    {
        var store = new InMemoryAnalyticsStore();
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        for (var hour = 0; hour < 24 * 365; hour++)
        {
            store.Add(Sample(Usdc, "1", start.AddHours(hour)));
        }

        // Within retention: 72 hours + 1 current (≈ 73), 40 days + 1, 13 months + 1, and the totals.
        Assert.InRange(store.BucketCount, 100, 3 + 1 + 73 + 41 + 14);
        Assert.Equal(24 * 365, (await store.ReadAsync(AnalyticsBucketKind.AllTime, [start]))[0][Usdc].Payments);
        Assert.Empty((await store.ReadAsync(AnalyticsBucketKind.Hour, [start]))[0]);
    }

    [Fact]
    public async Task Add_MoreSeriesThanTheBound_NewSeriesRefusedKnownOnesStillCounted()
    {
        var store = new InMemoryAnalyticsStore();
        var at = new DateTimeOffset(2026, 3, 14, 15, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < AnalyticsBuckets.MaxSeries; i++)
        {
            Assert.True(store.Add(Sample(new AnalyticsSeries("eip155:1", "0x" + i.ToString("x40", CultureInfo.InvariantCulture)), "1", at)));
        }

        Assert.False(store.Add(Sample(Usdc, "1", at)));
        Assert.True(store.Add(Sample(new AnalyticsSeries("eip155:1", "0x" + 0.ToString("x40", CultureInfo.InvariantCulture)), "1", at)));
        Assert.Equal(AnalyticsBuckets.MaxSeries, (await store.ReadAsync(AnalyticsBucketKind.AllTime, [at]))[0].Count);
    }
}
