using Facilitator.Fast.State;

namespace Facilitator.Fast.Analytics;

/// <summary>The periods of <c>GET /v1/analytics/revenue</c>.</summary>
internal enum RevenuePeriod : byte
{
    Day,
    Week,
    Month,
    Year,

    /// <summary>The last 30 UTC days, today included, by day (what the dashboard charts).</summary>
    Last30Days,
}

/// <summary>
/// A revenue period's range and buckets, all UTC and all the current one: the hours of today, the days of this ISO week
/// (Monday to Sunday), the days of this month, the months of this year; and the last 30 days, today included.
/// </summary>
internal static class RevenuePeriods
{
    public const string Allowed = "day, week, month, year, 30d";

    public static string Name(RevenuePeriod period) => period switch
    {
        RevenuePeriod.Week => "week",
        RevenuePeriod.Month => "month",
        RevenuePeriod.Year => "year",
        RevenuePeriod.Last30Days => "30d",
        _ => "day",
    };

    /// <summary>Exactly one of <see cref="Allowed"/>, as the seed's schema takes it (lower case).</summary>
    public static bool TryParse(string? text, out RevenuePeriod period)
    {
        period = text switch
        {
            "day" => RevenuePeriod.Day,
            "week" => RevenuePeriod.Week,
            "month" => RevenuePeriod.Month,
            "year" => RevenuePeriod.Year,
            "30d" => RevenuePeriod.Last30Days,
            _ => (RevenuePeriod)255,
        };
        return Enum.IsDefined(period);
    }

    /// <summary>The bucket kind of <paramref name="period"/> and its range [from, to) holding <paramref name="now"/>.</summary>
    public static (AnalyticsBucketKind Kind, DateTimeOffset From, DateTimeOffset To) Range(RevenuePeriod period, DateTimeOffset now)
    {
        var today = AnalyticsBuckets.StartOf(AnalyticsBucketKind.Day, now);
        switch (period)
        {
            case RevenuePeriod.Week:
                var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7));
                return (AnalyticsBucketKind.Day, monday, monday.AddDays(7));
            case RevenuePeriod.Month:
                var first = AnalyticsBuckets.StartOf(AnalyticsBucketKind.Month, now);
                return (AnalyticsBucketKind.Day, first, first.AddMonths(1));
            case RevenuePeriod.Year:
                var january = new DateTimeOffset(today.Year, 1, 1, 0, 0, 0, TimeSpan.Zero);
                return (AnalyticsBucketKind.Month, january, january.AddYears(1));
            case RevenuePeriod.Last30Days:
                return (AnalyticsBucketKind.Day, today.AddDays(-29), today.AddDays(1));
            default:
                return (AnalyticsBucketKind.Hour, today, today.AddDays(1));
        }
    }

    /// <summary>The starts of the buckets of <paramref name="kind"/> in [from, to).</summary>
    public static List<DateTimeOffset> Starts(AnalyticsBucketKind kind, DateTimeOffset from, DateTimeOffset to)
    {
        var starts = new List<DateTimeOffset>(32);
        for (var start = from; start < to; start = AnalyticsBuckets.Next(kind, start))
        {
            starts.Add(start);
        }

        return starts;
    }
}
