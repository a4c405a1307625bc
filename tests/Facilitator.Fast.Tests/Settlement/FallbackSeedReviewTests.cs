using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// The local settlement fallback's seeding from the copies of Redis's records, attacked: a copy that does not fit,
/// with copies of claims in flight never taken over.
/// </summary>
public sealed class FallbackSeedReviewTests(ITestOutputHelper output)
{
    /// <summary>
    /// Redis records a settlement finished; its copy (with the answer's body) does not fit the bounded copies, so the
    /// copy of its claim is dropped. With Redis out of reach, the ledger then finds no copy at all and claims the
    /// settlement afresh on the fallback — the authorization is sent again — where the copy of the claim, kept, would
    /// have been answered in flight (a copied claim is never taken over). The copy must keep saying that the settlement
    /// was started.
    /// </summary>
    [Fact]
    public async Task Mirror_OutcomeCopyDoesNotFit_KeyStillKnownAsStarted()
    {
        var key = Sha256Hash.Of("seed-full"u8);
        var print = Sha256Hash.Of("print"u8);
        var shared = new InMemorySettlementStore(TimeProvider.System, new SettlementWaiters(), 64 * 1024 * 1024);
        var mirrored = new MirroredSettlementStore(shared, new InMemorySettlementStore(TimeProvider.System, new SettlementWaiters(), 1000), static _ => TimeSpan.FromHours(1));
        var claim = new SettlementRecord(SettlementState.InFlight, print, true, "x", "claim", 1, false, false, 0, null, null, 1);
        var stored = await mirrored.ReplaceAsync(key, await mirrored.ReadAsync(key), claim, TimeSpan.FromHours(1), notify: false);
        var finished = new SettlementRecord(SettlementState.Finished, print, true, "x", "claim", 0, false, true, 200, "application/json", new byte[1000], 2);
        Assert.NotNull(await mirrored.ReplaceAsync(key, stored!.Value, finished, TimeSpan.FromHours(1), notify: false));

        var copy = (await mirrored.Copies.ReadAsync(key)).Record;
        output.WriteLine($"copy after the outcome did not fit: {copy?.State.ToString() ?? "none"}");
        Assert.NotNull(copy);
    }

    /// <summary>A seeded record keeps its identity through the in-memory store's read (the seeded mark is by instance).</summary>
    [Fact]
    public async Task InMemoryStore_ReadAfterWrite_ReturnsTheSameInstance()
    {
        var key = Sha256Hash.Of("seed-same"u8);
        var store = new InMemorySettlementStore(TimeProvider.System, new SettlementWaiters(), 1024 * 1024);
        var record = new SettlementRecord(SettlementState.Finished, Sha256Hash.Of("p"u8), true, "x", "c", 0, false, true, 200, "application/json", new byte[10], 2);
        Assert.NotNull(await store.ReplaceAsync(key, await store.ReadAsync(key), record, TimeSpan.FromHours(1), notify: false));
        Assert.Same(record, (await store.ReadAsync(key)).Record);
    }
}
