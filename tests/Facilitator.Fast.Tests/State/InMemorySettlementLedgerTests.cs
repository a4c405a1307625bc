using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.State;

public sealed class InMemorySettlementLedgerTests
{
    private static SettlementRecord Finished(DateTimeOffset at) => new(SettlementState.Finished, "u", 200, "application/json", [1, 2, 3], at);

    [Fact]
    public async Task Claim_Twice_SecondSeesInFlightThenWaitsForTheRecord()
    {
        var time = new ManualTimeProvider();
        var ledger = new InMemorySettlementLedger(time);
        var expires = time.GetUtcNow().AddMinutes(5);

        Assert.True((await ledger.ClaimAsync("k", expires, default)).Owned);
        var second = await ledger.ClaimAsync("k", expires, default);
        Assert.False(second.Owned);
        Assert.Equal(SettlementState.InFlight, second.Existing!.State);

        var waiting = ledger.WaitAsync("k", TimeSpan.FromSeconds(30), default).AsTask();
        Assert.False(waiting.IsCompleted);
        await ledger.RecordAsync("k", Finished(time.GetUtcNow()), expires);

        Assert.Equal(SettlementState.Finished, (await waiting)!.State);
        Assert.Equal(SettlementState.Finished, (await ledger.ClaimAsync("k", expires, default)).Existing!.State);
    }

    [Fact]
    public async Task Release_WakesWaitersWithNullAndAllowsANewClaim()
    {
        var time = new ManualTimeProvider();
        var ledger = new InMemorySettlementLedger(time);
        var expires = time.GetUtcNow().AddMinutes(5);
        await ledger.ClaimAsync("k", expires, default);
        var waiting = ledger.WaitAsync("k", TimeSpan.FromSeconds(30), default).AsTask();

        await ledger.ReleaseAsync("k");

        Assert.Null(await waiting);
        Assert.True((await ledger.ClaimAsync("k", expires, default)).Owned);
    }

    [Fact]
    public async Task Claim_AfterExpiry_OwnedAgain()
    {
        var time = new ManualTimeProvider();
        var ledger = new InMemorySettlementLedger(time);
        await ledger.ClaimAsync("k", time.GetUtcNow().AddSeconds(10), default);
        await ledger.RecordAsync("k", Finished(time.GetUtcNow()), time.GetUtcNow().AddSeconds(10));

        time.Advance(TimeSpan.FromSeconds(11));

        Assert.True((await ledger.ClaimAsync("k", time.GetUtcNow().AddSeconds(10), default)).Owned);
    }

    [Fact]
    public async Task Claim_BeyondCapacity_DropsOldestFinishedButNeverInFlight()
    {
        var time = new ManualTimeProvider();
        var ledger = new InMemorySettlementLedger(time, maxEntries: 10);
        var expires = time.GetUtcNow().AddHours(1);
        await ledger.ClaimAsync("in-flight", expires, default);
        for (var i = 0; i < 30; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await ledger.ClaimAsync($"done-{i}", expires, default);
            await ledger.RecordAsync($"done-{i}", Finished(time.GetUtcNow()), expires);
        }

        time.Advance(TimeSpan.FromSeconds(11));
        await ledger.ClaimAsync("trigger", expires, default);

        Assert.True(ledger.Count <= 11);
        Assert.False((await ledger.ClaimAsync("in-flight", expires, default)).Owned);
        Assert.False((await ledger.ClaimAsync("done-29", expires, default)).Owned);
    }

    [Fact]
    public async Task Wait_RunsOut_ReturnsTheEntryStillInFlight()
    {
        var ledger = new InMemorySettlementLedger(TimeProvider.System);
        await ledger.ClaimAsync("k", DateTimeOffset.UtcNow.AddMinutes(1), default);

        var record = await ledger.WaitAsync("k", TimeSpan.FromMilliseconds(50), default);

        Assert.Equal(SettlementState.InFlight, record!.State);
    }
}
