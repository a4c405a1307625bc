using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.State;

public sealed class InMemorySettlementLedgerTests
{
    private static SettlementRecord Finished(DateTimeOffset at) => new(SettlementState.Finished, "u", 200, "application/json", [1, 2, 3], at);

    private static SettlementRecord Pending(string holder, DateTimeOffset at) => new(SettlementState.Pending, holder, 0, null, null, at);

    [Fact]
    public async Task Claim_Twice_SecondSeesInFlightThenWaitsForTheRecord()
    {
        var time = new ManualTimeProvider();
        var ledger = new InMemorySettlementLedger(time);
        var expires = time.GetUtcNow().AddMinutes(5);

        var first = await ledger.ClaimAsync("k", expires, default);
        Assert.True(first.Owned);
        var second = await ledger.ClaimAsync("k", expires, default);
        Assert.False(second.Owned);
        Assert.Equal(SettlementState.InFlight, second.Existing!.State);

        var waiting = ledger.WaitAsync("k", TimeSpan.FromSeconds(30), default).AsTask();
        Assert.False(waiting.IsCompleted);
        await ledger.RecordAsync("k", first.ClaimId!, Finished(time.GetUtcNow()), expires);

        Assert.Equal(SettlementState.Finished, (await waiting)!.State);
        Assert.Equal(SettlementState.Finished, (await ledger.ClaimAsync("k", expires, default)).Existing!.State);
    }

    [Fact]
    public async Task Record_WithAnotherClaimsId_Ignored()
    {
        var time = new ManualTimeProvider();
        var ledger = new InMemorySettlementLedger(time);
        var expires = time.GetUtcNow().AddMinutes(5);
        await ledger.ClaimAsync("k", expires, default);

        await ledger.RecordAsync("k", "not-the-owner", Finished(time.GetUtcNow()), expires);
        await ledger.ReleaseAsync("k", "not-the-owner");

        Assert.Equal(SettlementState.InFlight, (await ledger.FindAsync("k"))!.State);
    }

    [Fact]
    public async Task Release_WakesWaitersWithNullAndAllowsANewClaim()
    {
        var time = new ManualTimeProvider();
        var ledger = new InMemorySettlementLedger(time);
        var expires = time.GetUtcNow().AddMinutes(5);
        var claim = await ledger.ClaimAsync("k", expires, default);
        var waiting = ledger.WaitAsync("k", TimeSpan.FromSeconds(30), default).AsTask();

        await ledger.ReleaseAsync("k", claim.ClaimId!);

        Assert.Null(await waiting);
        Assert.True((await ledger.ClaimAsync("k", expires, default)).Owned);
    }

    [Fact]
    public async Task ClaimPending_OneCallerAtATime_AndAReleasedRetryStaysPending()
    {
        var time = new ManualTimeProvider();
        var ledger = new InMemorySettlementLedger(time);
        var expires = time.GetUtcNow().AddMinutes(5);
        var claim = await ledger.ClaimAsync("k", expires, default);
        await ledger.RecordAsync("k", claim.ClaimId!, Pending("holder", time.GetUtcNow()), expires);

        var retry = await ledger.ClaimPendingAsync("k", "holder", expires);
        var concurrent = await ledger.ClaimPendingAsync("k", "holder", expires);

        Assert.True(retry.Owned);
        Assert.False(concurrent.Owned);
        Assert.Equal(SettlementState.InFlight, concurrent.Existing!.State);
        Assert.Equal("holder", concurrent.Existing.UpstreamId);

        await ledger.ReleaseAsync("k", retry.ClaimId!);

        var after = await ledger.FindAsync("k");
        Assert.Equal(SettlementState.Pending, after!.State);
        Assert.Equal("holder", after.UpstreamId);
    }

    [Fact]
    public async Task Claim_AfterExpiry_OwnedAgain()
    {
        var time = new ManualTimeProvider();
        var ledger = new InMemorySettlementLedger(time);
        var claim = await ledger.ClaimAsync("k", time.GetUtcNow().AddSeconds(10), default);
        await ledger.RecordAsync("k", claim.ClaimId!, Finished(time.GetUtcNow()), time.GetUtcNow().AddSeconds(10));

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
            var claim = await ledger.ClaimAsync($"done-{i}", expires, default);
            await ledger.RecordAsync($"done-{i}", claim.ClaimId!, Finished(time.GetUtcNow()), expires);
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
