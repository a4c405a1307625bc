using Facilitator.Fast.Telemetry;

namespace Facilitator.Fast.Tests.Telemetry;

public sealed class LatencyHistogramTests
{
    [Fact]
    public void Percentile_Empty_Zero() => Assert.Equal(0, new LatencyHistogram().Percentile(99));

    [Fact]
    public void Percentile_UniformValues_WithinBucketPrecision()
    {
        var histogram = new LatencyHistogram();
        for (var i = 1; i <= 10_000; i++)
        {
            histogram.Record(i * 100);
        }

        AssertWithin(500_000, histogram.Percentile(50));
        AssertWithin(950_000, histogram.Percentile(95));
        AssertWithin(990_000, histogram.Percentile(99));
        Assert.Equal(10_000, histogram.Count);
    }

    [Fact]
    public void IndexOf_EveryBucketBound_RoundTrips()
    {
        for (var value = 0L; value < 1_000_000; value = value * 5 / 4 + 1)
        {
            var index = LatencyHistogram.IndexOf(value);
            Assert.True(LatencyHistogram.UpperBoundOf(index) >= value, $"bucket of {value} ends below it");
            Assert.True(index == 0 || LatencyHistogram.UpperBoundOf(index - 1) < value, $"bucket of {value} is not the first that holds it");
        }
    }

    [Fact]
    public void Record_NegativeAndHugeValues_Clamped()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(-5);
        histogram.Record(long.MaxValue);

        Assert.Equal(0, histogram.Percentile(50));
        Assert.True(histogram.Percentile(100) > 1L << 40);
    }

    [Fact]
    public async Task Record_ManyThreads_NoLostCounts()
    {
        var histogram = new LatencyHistogram();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                histogram.Record(i);
            }
        })));

        Assert.Equal(400_000, histogram.Count);
    }

    private static void AssertWithin(long expected, long actual) =>
        Assert.InRange(actual, expected * 15 / 16, expected * 17 / 16);
}
