namespace Facilitator.Fast.State;

/// <summary>
/// The shared settlement store with a local copy of every record this instance reads from it or writes to it (claims
/// with their holder, pending records, outcomes), so that the local fallback, while the shared store is out of reach,
/// answers a repeat it has seen from that record — a replay, a retry at the holder only — instead of settling it afresh.
/// </summary>
/// <remarks>
/// The copy is kept in an <see cref="InMemorySettlementStore"/> with its memory bound; a copy that does not fit is
/// skipped and the older copy of that key dropped (the shared store stays the record). A write's copy always replaces
/// the local one; a read's copy never replaces a record that took its state later (a read that overtook a concurrent
/// write), and a read that finds nothing removes nothing.
/// </remarks>
public sealed class MirroredSettlementStore : ISettlementStore
{
    private readonly ISettlementStore _shared;
    private readonly Func<SettlementRecord, TimeSpan> _keepReadFor;

    /// <param name="keepReadFor">How long to keep the copy of a record that was read (a write names its own time).</param>
    public MirroredSettlementStore(ISettlementStore shared, InMemorySettlementStore copies, Func<SettlementRecord, TimeSpan> keepReadFor)
    {
        _shared = shared;
        Copies = copies;
        _keepReadFor = keepReadFor;
    }

    /// <summary>The local copies, read by the fallback only while the shared store is out of reach.</summary>
    public InMemorySettlementStore Copies { get; }

    public SettlementWaiters Waiters => _shared.Waiters;

    public async ValueTask<StoredSettlement> ReadAsync(Sha256Hash key)
    {
        var read = await _shared.ReadAsync(key).ConfigureAwait(false);
        if (read.Record is { } record)
        {
            await CopyAsync(key, record, _keepReadFor(record), written: false).ConfigureAwait(false);
        }

        return read;
    }

    public async ValueTask<StoredSettlement?> ReplaceAsync(Sha256Hash key, StoredSettlement expected, SettlementRecord? next, TimeSpan keepFor, bool notify)
    {
        var written = await _shared.ReplaceAsync(key, expected, next, keepFor, notify).ConfigureAwait(false);
        if (written is not null)
        {
            await CopyAsync(key, next, keepFor, written: true).ConfigureAwait(false);
        }

        return written;
    }

    private async ValueTask CopyAsync(Sha256Hash key, SettlementRecord? record, TimeSpan keepFor, bool written)
    {
        try
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var local = await Copies.ReadAsync(key).ConfigureAwait(false);
                if (ReferenceEquals(local.Record, record) || (!written && local.Record is { } held && held.SinceMs > record!.SinceMs))
                {
                    return;
                }

                if (await Copies.ReplaceAsync(key, local, record, keepFor, notify: false).ConfigureAwait(false) is not null)
                {
                    return;
                }
            }
        }
        catch (SettlementLedgerUnavailableException)
        {
            // No room for the copy: the older one is dropped, for the fallback to know nothing rather than something stale.
            await ForgetAsync(key).ConfigureAwait(false);
        }
    }

    private async ValueTask ForgetAsync(Sha256Hash key)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var local = await Copies.ReadAsync(key).ConfigureAwait(false);
            if (local.Record is null || await Copies.ReplaceAsync(key, local, null, TimeSpan.Zero, notify: false).ConfigureAwait(false) is not null)
            {
                return;
            }
        }
    }
}
