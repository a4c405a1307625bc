namespace Facilitator.Fast.State;

/// <summary>
/// The shared settlement store with a local copy of every record this instance reads from it or writes to it (claims
/// with their holder, pending records, outcomes), so that the local fallback, while the shared store is out of reach,
/// answers a repeat it has seen from that record — a replay, a retry at the holder only — instead of settling it afresh.
/// </summary>
/// <remarks>
/// The copy is kept in an <see cref="InMemorySettlementStore"/> with its memory bound. A record whose copy does not fit
/// is copied as a bodiless in-flight mark of itself (its authorization, its time) — an in-flight copy is never taken
/// over by the fallback, so a repeat is answered as in flight rather than sent again; when even the mark does not fit,
/// the older copy is dropped and the copies are marked incomplete (<see cref="IsComplete"/>) for as long as the record,
/// or a settled one evicted to make room, would have been kept. A write's copy
/// always replaces the local one; a read's copy never replaces a record that took its state later (a read that overtook
/// a concurrent write), and a read that finds nothing removes nothing.
/// </remarks>
public sealed class MirroredSettlementStore : ISettlementStore
{
    private readonly ISettlementStore _shared;
    private readonly Func<SettlementRecord, TimeSpan> _keepReadFor;
    private long _skippedUntilMs;

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

    /// <summary>
    /// Whether at <paramref name="nowMs"/> (the copies' clock) every record this instance saw in the shared store that is
    /// still to be kept has a copy: when not, a key without a copy may be one the shared store holds as settled or
    /// started, and the fallback must not claim it afresh.
    /// </summary>
    public bool IsComplete(long nowMs) => nowMs >= Math.Max(Interlocked.Read(ref _skippedUntilMs), Copies.EvictedSuccessUntilMs);

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
            await MarkOrForgetAsync(key, record!, keepFor, written).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After <paramref name="record"/>'s copy did not fit: replaces the older copy by a bodiless in-flight mark of that
    /// record (its authorization, its time), which the fallback never takes over; when even that does not fit, drops the
    /// older copy and marks the copies incomplete.
    /// </summary>
    private async ValueTask MarkOrForgetAsync(Sha256Hash key, SettlementRecord record, TimeSpan keepFor, bool written)
    {
        var mark = record with
        {
            State = SettlementState.InFlight, Retry = false, Success = false, StatusCode = 0, ContentType = null, Body = null,
            Transaction = null, ExtensionResponses = null,
        };
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var local = await Copies.ReadAsync(key).ConfigureAwait(false);
            if (!written && local.Record is { } held && held.SinceMs > record.SinceMs)
            {
                return;
            }

            try
            {
                if (await Copies.ReplaceAsync(key, local, mark, keepFor, notify: false).ConfigureAwait(false) is not null)
                {
                    return;
                }
            }
            catch (SettlementLedgerUnavailableException)
            {
                MarkSkipped(local.NowMs, keepFor);
                if (local.Record is null || await Copies.ReplaceAsync(key, local, null, TimeSpan.Zero, notify: false).ConfigureAwait(false) is not null)
                {
                    return;
                }
            }
        }

        // The copy kept changing under concurrent writers: whatever it now says, it is not known to be this record's.
        MarkSkipped((await Copies.ReadAsync(key).ConfigureAwait(false)).NowMs, keepFor);
    }

    private void MarkSkipped(long nowMs, TimeSpan keepFor)
    {
        var until = nowMs + (long)keepFor.TotalMilliseconds;
        for (var seen = Interlocked.Read(ref _skippedUntilMs); until > seen;)
        {
            var found = Interlocked.CompareExchange(ref _skippedUntilMs, until, seen);
            if (found == seen)
            {
                return;
            }

            seen = found;
        }
    }
}
