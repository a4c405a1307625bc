using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.State;

/// <summary>The in-memory store: compare-and-set, expiry by its clock, and a hard bound in bytes under hostile input.</summary>
public sealed class InMemorySettlementStoreTests
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private static SettlementRecord Record(SettlementState state, int bodyBytes = 0) =>
        new(state, Sha256Hash.Of("print"u8), true, "x", state == SettlementState.InFlight ? Guid.NewGuid().ToString("N") : null, 0, false, true, 200,
            "application/json", bodyBytes == 0 ? null : new byte[bodyBytes], 0);

    private static Sha256Hash Key(int i) => Sha256Hash.Of(BitConverter.GetBytes(i));

    private static InMemorySettlementStore Store(TimeProvider time, long maxBytes = 64 * 1024 * 1024) => new(time, new SettlementWaiters(), maxBytes);

    [Fact]
    public async Task Replace_AfterAnotherWriterChangedTheRecord_RefusedAndTheOtherWriteKept()
    {
        var store = Store(TimeProvider.System);
        var read = await store.ReadAsync(Key(1));
        var first = Record(SettlementState.InFlight);

        Assert.NotNull(await store.ReplaceAsync(Key(1), read, first, Hour, notify: false));
        Assert.Null(await store.ReplaceAsync(Key(1), read, Record(SettlementState.InFlight), Hour, notify: false));
        Assert.Same(first, (await store.ReadAsync(Key(1))).Record);
    }

    [Fact]
    public async Task Read_AfterTheRecordsTime_Gone()
    {
        var time = new ManualTimeProvider();
        var store = Store(time);
        await store.ReplaceAsync(Key(1), await store.ReadAsync(Key(1)), Record(SettlementState.Finished), TimeSpan.FromSeconds(10), notify: false);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.NotNull((await store.ReadAsync(Key(1))).Record);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null((await store.ReadAsync(Key(1))).Record);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task Read_RecordWhoseTimeMovedLaterOrEarlier_ExpiresAtItsLatestTime()
    {
        var time = new ManualTimeProvider();
        var store = Store(time);
        await store.ReplaceAsync(Key(1), await store.ReadAsync(Key(1)), Record(SettlementState.InFlight), TimeSpan.FromSeconds(10), notify: false);
        await store.ReplaceAsync(Key(1), await store.ReadAsync(Key(1)), Record(SettlementState.Finished), TimeSpan.FromSeconds(60), notify: false);
        await store.ReplaceAsync(Key(2), await store.ReadAsync(Key(2)), Record(SettlementState.InFlight), TimeSpan.FromSeconds(60), notify: false);
        await store.ReplaceAsync(Key(2), await store.ReadAsync(Key(2)), Record(SettlementState.Finished), TimeSpan.FromSeconds(5), notify: false);

        time.Advance(TimeSpan.FromSeconds(11));
        Assert.NotNull((await store.ReadAsync(Key(1))).Record);
        Assert.Null((await store.ReadAsync(Key(2))).Record);
        time.Advance(TimeSpan.FromSeconds(50));
        Assert.Null((await store.ReadAsync(Key(1))).Record);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task Replace_HundredThousandDistinctKeysWithLargeAnswers_MemoryStaysUnderTheBound()
    {
        const long Bound = 2 * 1024 * 1024;
        var store = Store(TimeProvider.System, Bound);

        for (var i = 0; i < 100_000; i++)
        {
            await store.ReplaceAsync(Key(i), await store.ReadAsync(Key(i)), Record(SettlementState.Finished, 4096), Hour, notify: false);
            Assert.True(store.Bytes <= Bound, $"{store.Bytes} bytes after {i + 1} records");
        }

        Assert.True(store.Count < 500);
        Assert.True(store.Evicted > 99_000);
    }

    [Fact]
    public async Task Replace_AtTheBound_FinishedRecordsEvictedInExpiryOrder()
    {
        var store = Store(TimeProvider.System, 1024 * 1024);
        var perRecord = InMemorySettlementStore.RecordOverheadBytes + 100_000;

        // Ten records, the earliest-expiring last; the bound holds about ten.
        for (var i = 0; i < 10; i++)
        {
            await store.ReplaceAsync(Key(i), await store.ReadAsync(Key(i)), Record(SettlementState.Finished, 100_000), TimeSpan.FromMinutes(100 - i), notify: false);
        }

        await store.ReplaceAsync(Key(100), await store.ReadAsync(Key(100)), Record(SettlementState.Finished, 100_000), Hour * 5, notify: false);

        Assert.True(store.Bytes <= 1024 * 1024);
        Assert.Null((await store.ReadAsync(Key(9))).Record);
        Assert.NotNull((await store.ReadAsync(Key(0))).Record);
        Assert.NotNull((await store.ReadAsync(Key(100))).Record);
        Assert.True(perRecord * store.Count <= 1024 * 1024);
    }

    [Fact]
    public async Task Replace_FullOfInFlightRecords_RefusedRatherThanDroppingOne()
    {
        var store = Store(TimeProvider.System, 1024 * 1024);
        await store.ReplaceAsync(Key(-1), await store.ReadAsync(Key(-1)), Record(SettlementState.Finished, 200_000), Hour, notify: false);
        var written = 0;
        var refused = false;
        for (var i = 0; i < 10_000 && !refused; i++)
        {
            try
            {
                await store.ReplaceAsync(Key(i), await store.ReadAsync(Key(i)), Record(SettlementState.InFlight), Hour, notify: false);
                written++;
            }
            catch (SettlementLedgerUnavailableException)
            {
                refused = true;
            }
        }

        Assert.True(refused);
        Assert.Null((await store.ReadAsync(Key(-1))).Record);
        for (var i = 0; i < written; i++)
        {
            Assert.Equal(SettlementState.InFlight, (await store.ReadAsync(Key(i))).Record!.State);
        }
    }

    [Fact]
    public async Task Replace_OneKeyRewrittenManyTimesWithNewTimes_QueuesDoNotGrow()
    {
        var store = Store(TimeProvider.System, 1024 * 1024);
        for (var i = 0; i < 50_000; i++)
        {
            await store.ReplaceAsync(Key(1), await store.ReadAsync(Key(1)), Record(i % 2 == 0 ? SettlementState.Finished : SettlementState.InFlight), TimeSpan.FromSeconds(60 + i), notify: false);
        }

        Assert.True(store.Bytes < 64 * 1024, $"{store.Bytes} bytes for one record");
    }

    [Fact]
    public async Task Replace_WithNotify_WakesListenersOfThatKeyOnly()
    {
        var store = Store(TimeProvider.System);
        using var mine = store.Waiters.Listen(Key(1));
        using var other = store.Waiters.Listen(Key(2));

        await store.ReplaceAsync(Key(1), await store.ReadAsync(Key(1)), Record(SettlementState.Finished), Hour, notify: true);

        Assert.True(await mine.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, default));
        Assert.False(await other.WaitAsync(TimeSpan.FromMilliseconds(50), TimeProvider.System, default));
    }
}
