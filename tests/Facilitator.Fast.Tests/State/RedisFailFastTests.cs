using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Facilitator.Fast.Tests.State;

/// <summary>The back-off after Redis fails to answer: local fallback at once, one probe per window, the window doubling to 30 s.</summary>
public sealed class RedisFailFastTests
{
    [Fact]
    public void Report_Failure_CallersSkipRedisUntilTheWindowPassesThenOneProbes()
    {
        var time = new ManualTimeProvider();
        var failFast = new RedisFailFast(time, NullLogger.Instance);
        Assert.True(failFast.TryUse(out var probe));
        Assert.False(probe);

        failFast.Report(succeeded: false, probe: false);

        Assert.True(failFast.IsFailingFast);
        Assert.False(failFast.TryUse(out _));
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(failFast.TryUse(out probe));
        Assert.True(probe);
        Assert.False(failFast.TryUse(out _));
    }

    [Fact]
    public void Report_ProbesKeepFailing_WindowDoublesUpTo30Seconds()
    {
        var time = new ManualTimeProvider();
        var failFast = new RedisFailFast(time, NullLogger.Instance);
        failFast.Report(succeeded: false, probe: false);

        var windows = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            time.Advance(failFast.Backoff);
            Assert.True(failFast.TryUse(out var probe) && probe);
            failFast.Report(succeeded: false, probe: true);
            windows.Add((int)failFast.Backoff.TotalSeconds);
        }

        Assert.Equal([10, 20, 30, 30, 30], windows);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(failFast.TryUse(out _));
    }

    [Fact]
    public void Report_ProbeSucceeds_RedisUsedAgainAndTheWindowReset()
    {
        var time = new ManualTimeProvider();
        var failFast = new RedisFailFast(time, NullLogger.Instance);
        failFast.Report(succeeded: false, probe: false);
        time.Advance(TimeSpan.FromSeconds(5));
        failFast.TryUse(out var probe);

        failFast.Report(succeeded: false, probe: false);
        failFast.Report(succeeded: true, probe: probe);

        Assert.False(failFast.IsFailingFast);
        Assert.True(failFast.TryUse(out var next));
        Assert.False(next);
        Assert.Equal(RedisFailFast.FirstBackoff, failFast.Backoff);
    }
}
