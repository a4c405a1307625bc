using Facilitator.Fast.State;

namespace Facilitator.Fast.Tests.State;

public sealed class InMemoryUpstreamHealthStoreTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void RecordFailure_ThresholdReached_TransitionsOnceAndBumpsVersion()
    {
        var store = new InMemoryUpstreamHealthStore(["a"]);
        var transitions = new List<HealthTransition>();
        store.Transitioned += (_, t) => transitions.Add(t);

        Assert.Equal(HealthTransition.None, store.RecordFailure("a", Now, "x", 3));
        Assert.Equal(HealthTransition.None, store.RecordFailure("a", Now, "x", 3));
        Assert.Equal(HealthTransition.BecameUnhealthy, store.RecordFailure("a", Now, "timed out", 3));
        Assert.Equal(HealthTransition.None, store.RecordFailure("a", Now, "x", 3));

        Assert.False(store.IsHealthy("a"));
        Assert.Equal(1, store.Version);
        var health = store.Read("a");
        Assert.Equal(4, health.ConsecutiveFailures);
        Assert.Equal(Now, health.UnhealthySince);
        Assert.Equal([HealthTransition.BecameUnhealthy], transitions);
    }

    [Fact]
    public void RecordSuccess_AfterUnhealthy_HealthyAgainAndCountReset()
    {
        var store = new InMemoryUpstreamHealthStore(["a"]);
        store.RecordFailure("a", Now, "x", 1);

        Assert.Equal(HealthTransition.BecameHealthy, store.RecordSuccess("a", Now.AddSeconds(1), Now.AddSeconds(1)));
        Assert.Equal(HealthTransition.None, store.RecordSuccess("a", Now.AddSeconds(2), Now.AddSeconds(2)));

        var health = store.Read("a");
        Assert.True(health.IsHealthy);
        Assert.Equal(0, health.ConsecutiveFailures);
        Assert.Null(health.UnhealthySince);
        Assert.Equal(Now.AddSeconds(2), health.LastSuccessAt);
        Assert.Equal(2, store.Version);
    }

    [Fact]
    public void RecordSuccess_BetweenFailures_ResetsTheRun()
    {
        var store = new InMemoryUpstreamHealthStore(["a"]);
        store.RecordFailure("a", Now, "x", 2);
        store.RecordSuccess("a", Now, Now);

        Assert.Equal(HealthTransition.None, store.RecordFailure("a", Now, "x", 2));
        Assert.True(store.IsHealthy("a"));
    }

    [Fact]
    public void RecordSuccess_OfACallSentBeforeTheUpstreamWasMarkedUnhealthy_Ignored()
    {
        var store = new InMemoryUpstreamHealthStore(["a"]);
        store.RecordFailure("a", Now, "x", 1);

        Assert.Equal(HealthTransition.None, store.RecordSuccess("a", Now.AddSeconds(1), startedAt: Now.AddSeconds(-1)));
        Assert.False(store.IsHealthy("a"));
        Assert.Equal(HealthTransition.BecameHealthy, store.RecordSuccess("a", Now.AddSeconds(2), startedAt: Now.AddSeconds(1)));
    }

    [Fact]
    public void Apply_OlderThanTheLastTransitionSeenHere_Ignored()
    {
        var store = new InMemoryUpstreamHealthStore(["a"]);
        store.RecordFailure("a", Now.AddSeconds(10), "x", 1);

        Assert.Equal(HealthTransition.None, store.Apply("a", true, Now.AddSeconds(5), null));
        Assert.False(store.IsHealthy("a"));
        Assert.Equal(HealthTransition.BecameHealthy, store.Apply("a", true, Now.AddSeconds(11), null));
    }

    [Fact]
    public void Apply_SameState_NoTransitionAndCountKept()
    {
        var store = new InMemoryUpstreamHealthStore(["a"]);
        store.RecordFailure("a", Now, "x", 3);

        Assert.Equal(HealthTransition.None, store.Apply("a", true, Now.AddSeconds(1), null));
        Assert.Equal(1, store.Read("a").ConsecutiveFailures);
    }
}
