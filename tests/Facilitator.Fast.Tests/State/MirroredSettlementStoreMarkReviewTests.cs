using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.State;

/// <summary>
/// The in-flight mark a copy that does not fit leaves behind, attacked: a read answered late (it overtakes nothing but
/// lands after the mark), a mark made from another authorization's copy, concurrent writers and readers of one key, and
/// the incomplete window a dropped record opens.
/// </summary>
public sealed class MirroredSettlementStoreMarkReviewTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private static readonly Sha256Hash Key = Sha256Hash.Of("mark-review"u8);

    private static readonly Sha256Hash Print = Sha256Hash.Of("mark-print"u8);

    private static InMemorySettlementStore Store(long maxBytes = 64 * 1024 * 1024, TimeProvider? time = null) =>
        new(time ?? TimeProvider.System, new SettlementWaiters(), maxBytes);

    private static SettlementRecord Claim(Sha256Hash print, string claimId, long sinceMs) =>
        new(SettlementState.InFlight, print, true, "x", claimId, sinceMs + 30_000, false, false, 0, null, null, sinceMs);

    private static SettlementRecord Pending(Sha256Hash print, string claimId, long sinceMs) =>
        new(SettlementState.Pending, print, true, "x", claimId, 0, false, false, 0, null, null, sinceMs);

    /// <summary>A success whose answer is larger than the copies' whole bound.</summary>
    private static SettlementRecord LargeSuccess(Sha256Hash print, string claimId, long sinceMs) =>
        new(SettlementState.Finished, print, true, "x", claimId, 0, false, true, 200, "application/json", new byte[4000], sinceMs);

    /// <summary>
    /// A repeat reads the pending record (a retry that did not reach its holder left it so); its answer arrives late.
    /// Meanwhile the former owner records the holder's success, whose copy does not fit: the pending copy becomes an
    /// in-flight mark. The late read's copy then lands: it is not newer than the mark (the mark keeps the pending
    /// record's time), so it replaces it — the copy says pending again while the shared store says settled, and the
    /// fallback would seed it and retry the settled authorization at its holder.
    /// </summary>
    [Fact]
    public async Task Read_LateReadOfPendingLandsAfterMark_CopyStaysInFlight()
    {
        var shared = Store();
        var late = new LateReadStore(shared);
        var mirrored = new MirroredSettlementStore(late, Store(maxBytes: 1500), static _ => Hour);
        var pending = Pending(Print, "retry", 10);
        var stored = await mirrored.ReplaceAsync(Key, await mirrored.ReadAsync(Key), pending, Hour, notify: false);
        Assert.Same(pending, (await mirrored.Copies.ReadAsync(Key)).Record);

        var held = late.HoldNextRead();
        var reading = mirrored.ReadAsync(Key).AsTask();
        await held;

        // The former owner's success from the holder (Pending(X) -> Finished is its to write).
        Assert.NotNull(await mirrored.ReplaceAsync(Key, stored!.Value, LargeSuccess(Print, "first", 20), Hour, notify: false));
        var mark = (await mirrored.Copies.ReadAsync(Key)).Record;
        Assert.Equal(SettlementState.InFlight, mark?.State);

        late.ReleaseRead();
        var read = await reading;
        Assert.Same(pending, read.Record);

        var copy = (await mirrored.Copies.ReadAsync(Key)).Record;
        output.WriteLine($"shared holds {(await shared.ReadAsync(Key)).Record?.State}; copy after the late read: {copy?.State.ToString() ?? "none"}");
        Assert.True(
            copy is { State: SettlementState.InFlight } || (copy is null && !mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs)),
            $"the copy of a settlement the shared store holds as settled is {copy?.State.ToString() ?? "none"} (the fallback would seed it)");
    }

    /// <summary>
    /// The copies hold another authorization's claim of the nonce (Y, read while in flight); Y then ended and X took
    /// the nonce and settled, with an answer too large to copy. The mark left behind must not be Y's: X's repeat on the
    /// fallback would be refused as a reuse of the nonce by Y (X answered with Y's record), and Y's answered in flight.
    /// </summary>
    [Fact]
    public async Task Read_FinishedCopyOfAnotherAuthorizationDoesNotFit_MarkIsNotTheOlderAuthorizations()
    {
        var printY = Sha256Hash.Of("authorization-y"u8);
        var printX = Sha256Hash.Of("authorization-x"u8);
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(maxBytes: 1500), static _ => Hour);
        var claimY = Claim(printY, "claim-y", 1);
        var inFlight = await shared.ReplaceAsync(Key, await shared.ReadAsync(Key), claimY, Hour, notify: false);
        await mirrored.ReadAsync(Key);
        Assert.Same(claimY, (await mirrored.Copies.ReadAsync(Key)).Record);

        // Y failed (a failure spends no nonce) and X, with the nonce, settled; this instance sees only X's success.
        var failedY = new SettlementRecord(SettlementState.Finished, printY, true, "x", "claim-y", 0, false, false, 200, "application/json", new byte[10], 2);
        var failed = await shared.ReplaceAsync(Key, inFlight!.Value, failedY, Hour, notify: false);
        Assert.NotNull(await shared.ReplaceAsync(Key, failed!.Value, LargeSuccess(printX, "claim-x", 3), Hour, notify: false));
        await mirrored.ReadAsync(Key);

        var copy = (await mirrored.Copies.ReadAsync(Key)).Record;
        output.WriteLine($"copy after X's success did not fit: {copy?.State.ToString() ?? "none"}, fingerprint {(copy is null ? "-" : copy.Fingerprint == printX ? "X" : copy.Fingerprint == printY ? "Y" : "other")}");
        Assert.True(copy is null || copy.Fingerprint == printX, "the copy answers X's repeats with Y's claim");
    }

    /// <summary>A mark fits where the answer does not, and keeps nothing of the answer but says the settlement started.</summary>
    [Fact]
    public async Task Replace_ClaimThenLargeFailure_MarkKeptNoLongerThanTheFailure()
    {
        var clock = new ManualTimeProvider();
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(1500, clock), static _ => Hour);
        var claim = Claim(Print, "c", 1);
        var stored = await mirrored.ReplaceAsync(Key, await mirrored.ReadAsync(Key), claim, Hour, notify: false);
        var failure = new SettlementRecord(SettlementState.Finished, Print, true, "x", "c", 0, false, false, 400, "application/json", new byte[4000], 2);

        Assert.NotNull(await mirrored.ReplaceAsync(Key, stored!.Value, failure, TimeSpan.FromSeconds(10), notify: false));

        var copy = (await mirrored.Copies.ReadAsync(Key)).Record;
        Assert.Equal(SettlementState.InFlight, copy?.State);
        Assert.False(copy!.Success);
        Assert.Null(copy.Body);
        clock.Advance(TimeSpan.FromSeconds(11));
        var later = await mirrored.Copies.ReadAsync(Key);
        Assert.Null(later.Record);
        Assert.True(mirrored.IsComplete(later.NowMs));
    }

    /// <summary>
    /// Writers settle keys (claim, then a success too large to copy) while readers read the same keys over and over:
    /// whatever the interleaving, each key's copy ends as a claim or mark (in flight), or absent with the copies marked
    /// incomplete — never a state the fallback would settle afresh or retry, never complete without it.
    /// </summary>
    [Fact]
    public async Task Concurrent_ReadsAndWritesOfOneKey_CopyNeverLeftSettleable()
    {
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(maxBytes: 256 * 1024), static _ => Hour);
        var keys = Enumerable.Range(0, 200).Select(static i => Sha256Hash.Of(System.Text.Encoding.UTF8.GetBytes($"race-{i}"))).ToArray();
        var done = 0;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            while (Volatile.Read(ref done) == 0)
            {
                foreach (var key in keys)
                {
                    await mirrored.ReadAsync(key);
                }
            }
        })).ToArray();

        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (key, _) =>
        {
            var claim = Claim(Print, "c-" + key.GetHashCode(), 1);
            var stored = await mirrored.ReplaceAsync(key, await mirrored.ReadAsync(key), claim, Hour, notify: false);
            Assert.NotNull(await mirrored.ReplaceAsync(key, stored!.Value, LargeSuccess(Print, "c", 2) with { Body = new byte[300 * 1024] }, Hour, notify: false));
        });

        Volatile.Write(ref done, 1);
        await Task.WhenAll(readers);
        foreach (var key in keys)
        {
            var copy = await mirrored.Copies.ReadAsync(key);
            Assert.True(
                copy.Record is { State: SettlementState.InFlight } || (copy.Record is null && !mirrored.IsComplete(copy.NowMs)),
                $"a settled key's copy is {copy.Record?.State.ToString() ?? "none"} with the copies complete");
        }
    }

    /// <summary>
    /// The copies are full of claims (never dropped): a new claim's copy and its mark do not fit. Nothing may remain of
    /// the key, and the copies are incomplete for as long as the claim is kept; then complete again.
    /// </summary>
    [Fact]
    public async Task Replace_CopiesFullOfClaims_ClaimNotCopiedAndIncompleteForItsTime()
    {
        var clock = new ManualTimeProvider();
        var shared = Store();
        var mirrored = new MirroredSettlementStore(shared, Store(2 * (InMemorySettlementStore.RecordOverheadBytes + 48) + 10, clock), static _ => Hour);
        for (var i = 0; i < 2; i++)
        {
            var other = Sha256Hash.Of(System.Text.Encoding.UTF8.GetBytes($"other-{i}"));
            await mirrored.ReplaceAsync(other, await mirrored.ReadAsync(other), Claim(Print, $"o{i}", 1), Hour, notify: false);
        }

        Assert.True(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
        Assert.NotNull(await mirrored.ReplaceAsync(Key, await mirrored.ReadAsync(Key), Claim(Print, "c", 1), TimeSpan.FromMinutes(5), notify: false));

        var copy = await mirrored.Copies.ReadAsync(Key);
        Assert.Null(copy.Record);
        Assert.False(mirrored.IsComplete(copy.NowMs));
        clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromMilliseconds(1));
        Assert.False(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(mirrored.IsComplete((await mirrored.Copies.ReadAsync(Key)).NowMs));
    }

    /// <summary>The shared store with a read whose answer can be held back, as a read's reply delayed on the wire.</summary>
    private sealed class LateReadStore(ISettlementStore inner) : ISettlementStore
    {
        private TaskCompletionSource? _reached;
        private TaskCompletionSource? _release;

        public SettlementWaiters Waiters => inner.Waiters;

        public Task HoldNextRead()
        {
            _reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _reached.Task;
        }

        public void ReleaseRead() => _release!.SetResult();

        public async ValueTask<StoredSettlement> ReadAsync(Sha256Hash key)
        {
            var read = await inner.ReadAsync(key);
            if (Interlocked.Exchange(ref _reached, null) is { } reached)
            {
                reached.SetResult();
                await _release!.Task;
            }

            return read;
        }

        public ValueTask<StoredSettlement?> ReplaceAsync(Sha256Hash key, StoredSettlement expected, SettlementRecord? next, TimeSpan keepFor, bool notify) =>
            inner.ReplaceAsync(key, expected, next, keepFor, notify);
    }
}
