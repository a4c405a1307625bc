using System.Runtime.InteropServices;

namespace Facilitator.Fast.State;

/// <summary>
/// The embedded analytics store: a dictionary of counters per bucket under one lock, for one instance, lost on restart.
/// Bounded: buckets older than their retention (counted from the newest payment seen) are dropped as new ones are made,
/// so at most 72 hours, 40 days and 13 months are kept besides the totals, each with at most
/// <see cref="AnalyticsBuckets.MaxSeries"/> series.
/// </summary>
internal sealed class InMemoryAnalyticsStore : IAnalyticsStore
{
    private readonly Dictionary<(AnalyticsBucketKind Kind, long StartMs), Dictionary<AnalyticsSeries, SeriesCounters>> _buckets = [];
    private readonly Dictionary<AnalyticsSeries, SeriesCounters> _allTime = [];
    private readonly Lock _gate = new();
    private long _newestMs;

    /// <summary>Buckets kept, the totals included.</summary>
    public int BucketCount
    {
        get
        {
            lock (_gate)
            {
                return _buckets.Count + 1;
            }
        }
    }

    public ValueTask<bool> AddAsync(AnalyticsSample sample) => ValueTask.FromResult(Add(sample));

    /// <summary>Counts <paramref name="sample"/> (synchronously: nothing here waits).</summary>
    public bool Add(in AnalyticsSample sample)
    {
        lock (_gate)
        {
            if (!_allTime.ContainsKey(sample.Series) && _allTime.Count >= AnalyticsBuckets.MaxSeries)
            {
                return false;
            }

            CollectionsMarshal.GetValueRefOrAddDefault(_allTime, sample.Series, out _).Add(sample);
            var at = DateTimeOffset.FromUnixTimeMilliseconds(sample.AtMs);
            var created = false;
            created |= AddTo(AnalyticsBucketKind.Hour, at, sample);
            created |= AddTo(AnalyticsBucketKind.Day, at, sample);
            created |= AddTo(AnalyticsBucketKind.Month, at, sample);
            if (sample.AtMs > _newestMs)
            {
                _newestMs = sample.AtMs;
            }

            if (created)
            {
                Prune();
            }

            return true;
        }
    }

    public ValueTask<IReadOnlyDictionary<AnalyticsSeries, SeriesCounters>[]> ReadAsync(AnalyticsBucketKind kind, IReadOnlyList<DateTimeOffset> starts)
    {
        var result = new IReadOnlyDictionary<AnalyticsSeries, SeriesCounters>[starts.Count];
        lock (_gate)
        {
            for (var i = 0; i < starts.Count; i++)
            {
                var bucket = kind == AnalyticsBucketKind.AllTime
                    ? _allTime
                    : _buckets.GetValueOrDefault((kind, AnalyticsBuckets.StartOf(kind, starts[i]).ToUnixTimeMilliseconds()));
                result[i] = bucket is null ? new Dictionary<AnalyticsSeries, SeriesCounters>() : new Dictionary<AnalyticsSeries, SeriesCounters>(bucket);
            }
        }

        return ValueTask.FromResult(result);
    }

    private bool AddTo(AnalyticsBucketKind kind, DateTimeOffset at, in AnalyticsSample sample)
    {
        ref var bucket = ref CollectionsMarshal.GetValueRefOrAddDefault(_buckets, (kind, AnalyticsBuckets.StartOf(kind, at).ToUnixTimeMilliseconds()), out var existed);
        bucket ??= [];
        CollectionsMarshal.GetValueRefOrAddDefault(bucket, sample.Series, out _).Add(sample);
        return !existed;
    }

    /// <summary>Drops the buckets that ended longer ago than their retention, measured from the newest payment.</summary>
    private void Prune()
    {
        List<(AnalyticsBucketKind, long)>? expired = null;
        foreach (var key in _buckets.Keys)
        {
            var end = AnalyticsBuckets.Next(key.Kind, DateTimeOffset.FromUnixTimeMilliseconds(key.StartMs));
            if (end.ToUnixTimeMilliseconds() + (long)AnalyticsBuckets.Retention(key.Kind)!.Value.TotalMilliseconds < _newestMs)
            {
                (expired ??= []).Add(key);
            }
        }

        foreach (var key in expired ?? [])
        {
            _buckets.Remove(key);
        }
    }
}
