namespace Facilitator.Fast.State;

/// <summary>
/// Settlements by authorization (network, asset, payer, nonce), so that one authorization reaches an upstream once:
/// concurrent identical settles share one upstream call, a finished answer is replayed until the authorization
/// expires, and a settlement with an unknown outcome stays with the upstream that may have processed it.
/// </summary>
/// <remarks>
/// Every claim carries an id; only its owner may record or release it, so an owner that outlived its claim cannot
/// overwrite or delete another caller's. A pending entry is claimed too before its holder is asked again, so
/// concurrent repeats of a pending settlement do not all reach the holder.
/// </remarks>
public interface ISettlementLedger
{
    /// <summary>Claims the settlement of <paramref name="key"/>, or returns the existing entry.</summary>
    ValueTask<SettlementClaim> ClaimAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Claims a pending entry for a retry on its holder; returns the entry as it is when it is not pending any more.</summary>
    ValueTask<SettlementClaim> ClaimPendingAsync(string key, string holderId, DateTimeOffset expiresAt);

    /// <summary>The entry of <paramref name="key"/> if there is one, without claiming anything.</summary>
    ValueTask<SettlementRecord?> FindAsync(string key);

    /// <summary>Records a finished or pending settlement under the caller's claim, kept until <paramref name="expiresAt"/>. Never throws.</summary>
    ValueTask RecordAsync(string key, string claimId, SettlementRecord record, DateTimeOffset expiresAt);

    /// <summary>Gives up a claim whose settlement provably reached no upstream, so a repeat may try again. Never throws.</summary>
    ValueTask ReleaseAsync(string key, string claimId);

    /// <summary>
    /// Waits until another caller's in-flight settlement is finished or pending. Returns the entry as it then is (still
    /// in flight when the wait ran out or the ledger could not be read), or null when the claim was released.
    /// </summary>
    ValueTask<SettlementRecord?> WaitAsync(string key, TimeSpan timeout, CancellationToken cancellationToken);
}
