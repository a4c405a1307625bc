namespace Facilitator.Fast.Telemetry;

/// <summary>
/// A lock-free latency histogram that many request threads record into at once, for the percentiles of the
/// status API and, later, adaptive hedge delays.
/// </summary>
/// <remarks>
/// Values are microseconds in log-linear buckets: 16 linear buckets below 16 µs, then 16 sub-buckets per power of
/// two, so a reported percentile is within 1/16 (6.25 %) of the true value. Recording is one
/// <see cref="Interlocked.Increment(ref long)"/>; reading walks 600 counters and is meant for occasional callers.
/// </remarks>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 4;
    private const int SubBuckets = 1 << SubBucketBits;
    private const int MaxExponent = 40;
    private const int BucketCount = SubBuckets + ((MaxExponent - SubBucketBits + 1) * SubBuckets);

    private readonly long[] _counts = new long[BucketCount];
    private long _total;

    public long Count => Volatile.Read(ref _total);

    public void Record(long microseconds)
    {
        Interlocked.Increment(ref _counts[IndexOf(microseconds)]);
        Interlocked.Increment(ref _total);
    }

    /// <summary>The value below which <paramref name="percentile"/> percent of recordings fall, in microseconds; 0 when empty.</summary>
    public long Percentile(double percentile)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(total * Math.Clamp(percentile, 0, 100) / 100.0);
        rank = Math.Max(rank, 1);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return UpperBoundOf(i);
            }
        }

        return UpperBoundOf(_counts.Length - 1);
    }

    internal static int IndexOf(long value)
    {
        if (value < SubBuckets)
        {
            return (int)Math.Max(value, 0);
        }

        var exponent = 63 - (int)long.LeadingZeroCount(value);
        if (exponent > MaxExponent)
        {
            return BucketCount - 1;
        }

        var sub = (int)((value >> (exponent - SubBucketBits)) & (SubBuckets - 1));
        return SubBuckets + ((exponent - SubBucketBits) * SubBuckets) + sub;
    }

    internal static long UpperBoundOf(int index)
    {
        if (index < SubBuckets)
        {
            return index;
        }

        var exponent = ((index - SubBuckets) / SubBuckets) + SubBucketBits;
        var sub = (index - SubBuckets) % SubBuckets;
        var width = 1L << (exponent - SubBucketBits);
        return (1L << exponent) + ((sub + 1) * width) - 1;
    }
}
