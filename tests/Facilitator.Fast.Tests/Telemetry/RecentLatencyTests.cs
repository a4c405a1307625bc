using Facilitator.Fast.Telemetry;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Telemetry;

public sealed class RecentLatencyTests
{
    [Fact]
    public void P95_TooFewSamples_Unknown()
    {
        var time = new ManualTimeProvider();
        var recent = new RecentLatency(TimeSpan.FromSeconds(30));
        recent.Record(1000, time.GetUtcNow());

        Assert.Null(recent.P95(time.GetUtcNow()));
    }

    [Fact]
    public void P95_FollowsTheLatestCompleteWindow()
    {
        var time = new ManualTimeProvider();
        var recent = new RecentLatency(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 100; i++)
        {
            recent.Record(10_000, time.GetUtcNow());
        }

        Assert.InRange(recent.P95(time.GetUtcNow())!.Value, 9_000, 11_000);

        time.Advance(TimeSpan.FromSeconds(31));
        for (var i = 0; i < 100; i++)
        {
            recent.Record(200_000, time.GetUtcNow());
        }

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.InRange(recent.P95(time.GetUtcNow())!.Value, 180_000, 220_000);
    }
}
