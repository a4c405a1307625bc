using System.Globalization;
using Facilitator.Fast.Analytics;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Tests.Analytics;

public sealed class RevenuePeriodsTests
{
    private static DateTimeOffset Utc(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    [Theory]
    [InlineData("day", "Day")]
    [InlineData("week", "Week")]
    [InlineData("month", "Month")]
    [InlineData("year", "Year")]
    [InlineData("30d", "Last30Days")]
    public void TryParse_AllowedName_ThatPeriod(string text, string expected)
    {
        Assert.True(RevenuePeriods.TryParse(text, out var period));
        Assert.Equal(Enum.Parse<RevenuePeriod>(expected), period);
        Assert.Equal(text, RevenuePeriods.Name(period));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Day")]
    [InlineData("hour")]
    [InlineData("4")]
    [InlineData(null)]
    public void TryParse_AnythingElse_False(string? text) => Assert.False(RevenuePeriods.TryParse(text, out _));

    [Fact]
    public void Range_Last30Days_ThirtyDaysEndingWithTodayUtc()
    {
        var (kind, from, to) = RevenuePeriods.Range(RevenuePeriod.Last30Days, Utc("2026-03-01T00:00:00Z"));

        Assert.Equal(AnalyticsBucketKind.Day, kind);
        Assert.Equal(Utc("2026-01-31T00:00:00Z"), from);
        Assert.Equal(Utc("2026-03-02T00:00:00Z"), to);
        Assert.Equal(30, RevenuePeriods.Starts(kind, from, to).Count);
    }

    [Fact]
    public void Range_Day_TheTwentyFourHoursOfTodayUtc()
    {
        var (kind, from, to) = RevenuePeriods.Range(RevenuePeriod.Day, Utc("2026-03-14T23:59:59.999Z"));

        Assert.Equal(AnalyticsBucketKind.Hour, kind);
        Assert.Equal(Utc("2026-03-14T00:00:00Z"), from);
        Assert.Equal(Utc("2026-03-15T00:00:00Z"), to);
        Assert.Equal(24, RevenuePeriods.Starts(kind, from, to).Count);
    }

    [Theory]
    [InlineData("2026-03-16T00:00:00Z")] // a Monday
    [InlineData("2026-03-18T12:00:00Z")] // a Wednesday
    [InlineData("2026-03-22T23:59:59Z")] // a Sunday
    public void Range_Week_MondayToSundayOfTheIsoWeek(string now)
    {
        var (kind, from, to) = RevenuePeriods.Range(RevenuePeriod.Week, Utc(now));

        Assert.Equal(AnalyticsBucketKind.Day, kind);
        Assert.Equal(Utc("2026-03-16T00:00:00Z"), from);
        Assert.Equal(Utc("2026-03-23T00:00:00Z"), to);
        Assert.Equal(7, RevenuePeriods.Starts(kind, from, to).Count);
    }

    [Theory]
    [InlineData("2028-02-29T10:00:00Z", 29)]
    [InlineData("2026-02-01T00:00:00Z", 28)]
    [InlineData("2026-12-31T23:00:00Z", 31)]
    public void Range_Month_EveryDayOfThisMonth(string now, int days)
    {
        var (kind, from, to) = RevenuePeriods.Range(RevenuePeriod.Month, Utc(now));

        Assert.Equal(AnalyticsBucketKind.Day, kind);
        Assert.Equal(1, from.Day);
        Assert.Equal(days, RevenuePeriods.Starts(kind, from, to).Count);
    }

    [Fact]
    public void Range_Year_TwelveMonthsFromJanuary()
    {
        var (kind, from, to) = RevenuePeriods.Range(RevenuePeriod.Year, Utc("2026-07-04T12:00:00Z"));

        Assert.Equal(AnalyticsBucketKind.Month, kind);
        Assert.Equal(Utc("2026-01-01T00:00:00Z"), from);
        Assert.Equal(Utc("2027-01-01T00:00:00Z"), to);
        Assert.Equal(12, RevenuePeriods.Starts(kind, from, to).Count);
    }
}
