namespace Facilitator.Fast.State;

/// <summary>
/// Where settlement records live: one record per key, read with the store's own clock and replaced only by a
/// compare-and-set against what was read, so that the settlement state machine runs the same on every store and no
/// two callers can both believe they own a claim.
/// </summary>
/// <remarks>
/// Expiry is always relative (a duration from the store's clock), never an instant computed from this machine's
/// clock. A store that cannot be reached throws <see cref="SettlementLedgerUnavailableException"/>; it never guesses.
/// </remarks>
public interface ISettlementStore
{
    /// <summary>Waiters for changes of a key; shared by every store of the process.</summary>
    SettlementWaiters Waiters { get; }

    /// <summary>The record under <paramref name="key"/> and the store's clock.</summary>
    ValueTask<StoredSettlement> ReadAsync(Sha256Hash key);

    /// <summary>
    /// Replaces what <paramref name="expected"/> read with <paramref name="next"/> (null removes it), kept for
    /// <paramref name="keepFor"/> from the store's clock; with <paramref name="notify"/>, every instance's waiters on the
    /// key are told. Returns the record as now stored, or null when it changed since <paramref name="expected"/> was read.
    /// </summary>
    ValueTask<StoredSettlement?> ReplaceAsync(Sha256Hash key, StoredSettlement expected, SettlementRecord? next, TimeSpan keepFor, bool notify);
}
