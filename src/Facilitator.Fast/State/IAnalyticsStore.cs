namespace Facilitator.Fast.State;

/// <summary>
/// Counters of settled payments per (network, asset), pre-aggregated as payments settle into their UTC hour, day and
/// month and the all-time totals — one constant-cost update per payment, so a report reads a few buckets and never
/// scans payments. The in-memory store serves one instance; the Redis store is shared by every instance.
/// </summary>
internal interface IAnalyticsStore
{
    /// <summary>
    /// Counts <paramref name="sample"/> in its hour, day, month and the all-time totals, in one step. False when the
    /// store refused it because it already counts as many series as it may; a Redis fault throws (the caller retries).
    /// </summary>
    ValueTask<bool> AddAsync(AnalyticsSample sample);

    /// <summary>The counters of the buckets of <paramref name="kind"/> starting at <paramref name="starts"/> (UTC), in that order; empty for a bucket no longer kept.</summary>
    ValueTask<IReadOnlyDictionary<AnalyticsSeries, SeriesCounters>[]> ReadAsync(AnalyticsBucketKind kind, IReadOnlyList<DateTimeOffset> starts);
}
