using Facilitator.Fast.Health;
using Facilitator.Fast.Routing;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Facilitator.Fast.Tests.Health;

public sealed class UptimeTrackerTests
{
    /// <summary>A tracker over upstreams a and b, with their health store and the test's clock.</summary>
    internal static (UptimeTracker Tracker, InMemoryUpstreamHealthStore Health, ManualTimeProvider Time, RoutingTable Table) Create()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Upstreams:0:Id"] = "a",
            ["Upstreams:0:Url"] = "http://127.0.0.1:1",
            ["Upstreams:1:Id"] = "b",
            ["Upstreams:1:Url"] = "http://127.0.0.1:2",
        }).Build();
        var health = new InMemoryUpstreamHealthStore(["a", "b"]);
        var time = new ManualTimeProvider();
        var table = new RoutingTable(RoutingConfiguration.Load(configuration), health, NullLogger<RoutingTable>.Instance, time: time);
        var tracker = new UptimeTracker(table, health, time);
        tracker.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return (tracker, health, time, table);
    }

    [Fact]
    public void Percentage_AllUnhealthyForAQuarterOfTheTime_75()
    {
        var (tracker, health, time, table) = Create();
        using var _ = table;
        time.Advance(TimeSpan.FromMinutes(30));
        health.RecordFailure("a", time.GetUtcNow(), "down", 1);
        health.RecordFailure("b", time.GetUtcNow(), "down", 1);
        time.Advance(TimeSpan.FromMinutes(15));
        health.RecordSuccess("b", time.GetUtcNow(), time.GetUtcNow());
        time.Advance(TimeSpan.FromMinutes(15));

        Assert.Equal(75, tracker.Percentage, 6);
        Assert.Equal(TimeSpan.FromHours(1), tracker.Elapsed);
    }

    [Fact]
    public void Percentage_OneOfTwoUnhealthy_StillUp()
    {
        var (tracker, health, time, table) = Create();
        using var _ = table;
        health.RecordFailure("a", time.GetUtcNow(), "down", 1);
        time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(100, tracker.Percentage, 6);
    }

    [Fact]
    public void Percentage_StillDownWhenAsked_CountsTheDownTimeSoFar()
    {
        var (tracker, health, time, table) = Create();
        using var _ = table;
        time.Advance(TimeSpan.FromMinutes(10));
        health.RecordFailure("a", time.GetUtcNow(), "down", 1);
        health.RecordFailure("b", time.GetUtcNow(), "down", 1);
        time.Advance(TimeSpan.FromMinutes(30));

        Assert.Equal(25, tracker.Percentage, 6);
        time.Advance(TimeSpan.FromMinutes(40));
        Assert.Equal(12.5, tracker.Percentage, 6);
    }

    [Fact]
    public void Percentage_AtTheStart_100WhenAnUpstreamIsHealthy()
    {
        var (tracker, _, _, table) = Create();
        using var _t = table;

        Assert.Equal(100, tracker.Percentage);
    }
}
