using System.Globalization;

namespace Facilitator.Fast.State;

/// <summary>The sizes of the buckets payments are counted in as they settle.</summary>
internal enum AnalyticsBucketKind : byte
{
    Hour,
    Day,
    Month,
    AllTime,
}

/// <summary>
/// Where a moment falls in each bucket kind (UTC), the bucket's id, and how long a bucket is kept: long enough for every
/// report period that reads it (hours for today, days for this week or month, months for this year) plus a margin.
/// </summary>
internal static class AnalyticsBuckets
{
    /// <summary>
    /// The most (network, asset) pairs counted; a payment of a new pair beyond it is not counted. Each pair costs a few
    /// hash fields per bucket, and only payments an upstream settled make one, so this bounds memory, not real use.
    /// </summary>
    public const int MaxSeries = 256;

    /// <summary>Hours serve the day report; three days covers today wherever the clock stands.</summary>
    public static readonly TimeSpan HourRetention = TimeSpan.FromDays(3);

    /// <summary>Days serve the week and month reports (at most 31 days back).</summary>
    public static readonly TimeSpan DayRetention = TimeSpan.FromDays(40);

    /// <summary>Months serve the year report (at most 12 months back).</summary>
    public static readonly TimeSpan MonthRetention = TimeSpan.FromDays(400);

    public static TimeSpan? Retention(AnalyticsBucketKind kind) => kind switch
    {
        AnalyticsBucketKind.Hour => HourRetention,
        AnalyticsBucketKind.Day => DayRetention,
        AnalyticsBucketKind.Month => MonthRetention,
        _ => null,
    };

    /// <summary>The start of the bucket of <paramref name="kind"/> holding <paramref name="at"/>, in UTC.</summary>
    public static DateTimeOffset StartOf(AnalyticsBucketKind kind, DateTimeOffset at)
    {
        var ticks = at.UtcTicks;
        return kind switch
        {
            AnalyticsBucketKind.Hour => new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerHour), TimeSpan.Zero),
            AnalyticsBucketKind.Day => new DateTimeOffset(ticks - (ticks % TimeSpan.TicksPerDay), TimeSpan.Zero),
            AnalyticsBucketKind.Month => new DateTimeOffset(at.UtcDateTime.Year, at.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => DateTimeOffset.UnixEpoch,
        };
    }

    /// <summary>The start of the next bucket after the one starting at <paramref name="start"/>.</summary>
    public static DateTimeOffset Next(AnalyticsBucketKind kind, DateTimeOffset start) => kind switch
    {
        AnalyticsBucketKind.Hour => start.AddHours(1),
        AnalyticsBucketKind.Day => start.AddDays(1),
        AnalyticsBucketKind.Month => start.AddMonths(1),
        _ => DateTimeOffset.MaxValue,
    };

    /// <summary>The bucket's id in keys: <c>hour:2026010113</c>, <c>day:20260101</c>, <c>month:202601</c>, <c>all</c>.</summary>
    public static string Id(AnalyticsBucketKind kind, DateTimeOffset start) => kind switch
    {
        AnalyticsBucketKind.Hour => "hour:" + start.UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture),
        AnalyticsBucketKind.Day => "day:" + start.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture),
        AnalyticsBucketKind.Month => "month:" + start.UtcDateTime.ToString("yyyyMM", CultureInfo.InvariantCulture),
        _ => "all",
    };
}
