namespace Facilitator.Fast.State;

/// <summary>
/// Settlements by authorization (network, asset, payer, nonce), so that one authorization reaches an upstream once:
/// concurrent identical settles share one upstream call, a finished answer is replayed until the authorization
/// expires, and a settlement with an unknown outcome stays with the upstream that may have processed it.
/// </summary>
public interface ISettlementLedger
{
    /// <summary>Claims the settlement of <paramref name="key"/> for this caller, or returns the existing entry.</summary>
    ValueTask<SettlementClaim> ClaimAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>The entry of <paramref name="key"/> if there is one, without claiming anything.</summary>
    ValueTask<SettlementRecord?> FindAsync(string key);

    /// <summary>Records a finished or pending settlement, kept until <paramref name="expiresAt"/>, and wakes the waiters.</summary>
    ValueTask RecordAsync(string key, SettlementRecord record, DateTimeOffset expiresAt);

    /// <summary>Gives up a claim whose settlement provably reached no upstream, so a repeat may try again.</summary>
    ValueTask ReleaseAsync(string key);

    /// <summary>
    /// Waits until another caller's in-flight settlement is finished or pending. Returns the entry as it then is (still
    /// in flight when the wait ran out), or null when the claim was released or the entry is gone.
    /// </summary>
    ValueTask<SettlementRecord?> WaitAsync(string key, TimeSpan timeout, CancellationToken cancellationToken);
}
