using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.State;

/// <summary>The local copies of the shared store's records: what is written or read is kept, a stale read never wins, a full copy store never fails the shared write.</summary>
public sealed class MirroredSettlementStoreTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private static readonly Sha256Hash Key = Sha256Hash.Of("key"u8);

    private static SettlementRecord Record(SettlementState state, long sinceMs) =>
        new(state, Sha256Hash.Of("print"u8), true, "x", state == SettlementState.InFlight ? Guid.NewGuid().ToString("N") : null, 0, false, true, 200,
            "application/json", null, sinceMs);

    private static InMemorySettlementStore Store(long maxBytes = 64 * 1024 * 1024) => new(TimeProvider.System, new SettlementWaiters(), maxBytes);

    [Fact]
    public async Task Replace_Written_CopiedAndARemovalRemovesTheCopy()
    {
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(), static _ => Hour);
        var claim = Record(SettlementState.InFlight, 1);

        var stored = await mirrored.ReplaceAsync(Key, await mirrored.ReadAsync(Key), claim, Hour, notify: false);
        Assert.Same(claim, (await mirrored.Copies.ReadAsync(Key)).Record);

        Assert.NotNull(await mirrored.ReplaceAsync(Key, stored!.Value, null, Hour, notify: false));
        Assert.Null((await mirrored.Copies.ReadAsync(Key)).Record);
    }

    [Fact]
    public async Task Read_RecordWrittenElsewhere_Copied()
    {
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(), static _ => Hour);
        var pending = Record(SettlementState.Pending, 5);
        await shared.ReplaceAsync(Key, await shared.ReadAsync(Key), pending, Hour, notify: false);

        Assert.Same(pending, (await mirrored.ReadAsync(Key)).Record);
        Assert.Same(pending, (await mirrored.Copies.ReadAsync(Key)).Record);
    }

    [Fact]
    public async Task Read_OlderThanTheCopyOrEmpty_CopyKept()
    {
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(), static _ => Hour);
        var finished = Record(SettlementState.Finished, 10);
        await mirrored.ReplaceAsync(Key, await mirrored.ReadAsync(Key), finished, Hour, notify: false);

        // A read that started before the outcome was written returns the claim it saw.
        await shared.ReplaceAsync(Key, await shared.ReadAsync(Key), Record(SettlementState.InFlight, 3), Hour, notify: false);
        await mirrored.ReadAsync(Key);
        Assert.Same(finished, (await mirrored.Copies.ReadAsync(Key)).Record);

        await shared.ReplaceAsync(Key, await shared.ReadAsync(Key), null, Hour, notify: false);
        await mirrored.ReadAsync(Key);
        Assert.Same(finished, (await mirrored.Copies.ReadAsync(Key)).Record);
    }

    [Fact]
    public async Task Replace_CopiesFull_SharedWriteStillReportedAndNoCopy()
    {
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(maxBytes: 64), static _ => Hour);
        var claim = Record(SettlementState.InFlight, 1);

        Assert.NotNull(await mirrored.ReplaceAsync(Key, await mirrored.ReadAsync(Key), claim, Hour, notify: false));
        Assert.Same(claim, (await shared.ReadAsync(Key)).Record);
        Assert.Null((await mirrored.Copies.ReadAsync(Key)).Record);
    }

    [Fact]
    public async Task Replace_PendingThenOutcomeDoesNotFit_CopyBecomesAnInFlightMark()
    {
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(maxBytes: 1500), static _ => Hour);
        var pending = Record(SettlementState.Pending, 1);
        var stored = await mirrored.ReplaceAsync(Key, await mirrored.ReadAsync(Key), pending, Hour, notify: false);
        var finished = Record(SettlementState.Finished, 2) with { Body = new byte[4000] };

        Assert.NotNull(await mirrored.ReplaceAsync(Key, stored!.Value, finished, Hour, notify: false));

        var copy = (await mirrored.Copies.ReadAsync(Key)).Record;
        Assert.Equal(SettlementState.InFlight, copy?.State);
        Assert.Equal(pending.Fingerprint, copy!.Fingerprint);
        Assert.Null(copy.Body);
        Assert.True(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
    }

    [Fact]
    public async Task Read_FinishedCopyDoesNotFit_CopiedAsAnInFlightMarkOfItself()
    {
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(maxBytes: 1500), static _ => Hour);
        var finished = Record(SettlementState.Finished, 2) with { Body = new byte[4000] };
        await shared.ReplaceAsync(Key, await shared.ReadAsync(Key), finished, Hour, notify: false);

        await mirrored.ReadAsync(Key);

        var copy = (await mirrored.Copies.ReadAsync(Key)).Record;
        Assert.Equal(SettlementState.InFlight, copy?.State);
        Assert.Equal(finished.Fingerprint, copy!.Fingerprint);
        Assert.Equal(finished.SinceMs, copy.SinceMs);
        Assert.Null(copy.Body);
        Assert.True(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
    }

    [Fact]
    public async Task Read_NotEvenTheMarkFits_NoCopyAndIncompleteUntilTheRecordWouldHaveExpired()
    {
        var clock = new ManualTimeProvider();
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, new InMemorySettlementStore(clock, new SettlementWaiters(), 200), static _ => Hour);
        await shared.ReplaceAsync(Key, await shared.ReadAsync(Key), Record(SettlementState.Finished, 2) with { Body = new byte[4000] }, Hour, notify: false);

        await mirrored.ReadAsync(Key);

        Assert.Null((await mirrored.Copies.ReadAsync(Key)).Record);
        Assert.False(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
        clock.Advance(Hour - TimeSpan.FromSeconds(1));
        Assert.False(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
    }

    [Fact]
    public async Task Replace_SuccessEvictedForRoom_IncompleteUntilItWouldHaveExpired()
    {
        var clock = new ManualTimeProvider();
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, new InMemorySettlementStore(clock, new SettlementWaiters(), 2000), static _ => Hour);
        var first = Sha256Hash.Of("first"u8);
        await mirrored.ReplaceAsync(first, await mirrored.ReadAsync(first), Record(SettlementState.Finished, 1) with { Body = new byte[1000] }, Hour, notify: false);
        Assert.True(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));

        await mirrored.ReplaceAsync(Key, await mirrored.ReadAsync(Key), Record(SettlementState.Finished, 2) with { Body = new byte[1000] }, TimeSpan.FromMinutes(1), notify: false);

        Assert.Null((await mirrored.Copies.ReadAsync(first)).Record);
        Assert.NotNull((await mirrored.Copies.ReadAsync(Key)).Record);
        Assert.False(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
        clock.Advance(Hour);
        Assert.True(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
    }
}
