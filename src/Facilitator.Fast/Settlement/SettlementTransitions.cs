using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>What a claim found: the caller owns the settlement now, or how it must be answered instead.</summary>
public enum ClaimKind : byte
{
    /// <summary>The caller owns a new claim: nothing was sent for this authorization yet (or a lapsed claim sent nothing).</summary>
    Claimed = 0,

    /// <summary>The caller owns a retry of a settlement pending at one upstream, and may send it there only.</summary>
    ClaimedRetry,

    /// <summary>The same authorization finished: its answer is replayed.</summary>
    Replay,

    /// <summary>Another authorization holds the payer's nonce: this one is refused.</summary>
    NonceReused,

    /// <summary>The same authorization is being settled by a live owner: wait for its outcome.</summary>
    InFlight,
}

/// <summary>A change a transition allows (<see cref="Next"/> null removes the record), or none.</summary>
public readonly record struct SettlementChange(bool Allowed, SettlementRecord? Next)
{
    public static SettlementChange Refused => default;

    public static SettlementChange To(SettlementRecord? next) => new(true, next);
}

/// <summary>
/// The settlement state machine: every change a record may undergo, and who may make it. Pure functions of the record
/// as read and the store's clock; the ledger applies them with compare-and-set, so every store and every instance
/// follow the same rules, and no change is made on a record that moved since it was read.
/// </summary>
/// <remarks>
/// <code>
///  from                     to                          who                       when
///  (none)                   InFlight(owner)             any caller                always
///  InFlight, lease lapsed,  InFlight(owner')            a caller, same print      nothing was sent (no upstream named)
///    no upstream
///  InFlight(X), lapsed      InFlight(owner', X, retry)  a caller, same print      the owner is gone; X alone may be asked
///  Pending(X)               InFlight(owner', X, retry)  a caller, same print      always (one retry at a time)
///  InFlight                 InFlight(…, upstream Y)     the owner                 before each attempt; a retry only names X
///  InFlight                 InFlight(lease renewed)     the owner                 while it waits on the upstream
///  InFlight(X)              Finished                    the owner                 X answered (a retry: only a success)
///  Pending(X), InFlight(X)  Finished                    a former owner            X reported success
///  InFlight(X)              Pending(X)                  the owner                 X may have processed it
///  InFlight                 (none)                      the owner, not a retry    provably nothing was processed
///  InFlight(X, retry)       Pending(X)                  the owner                 the retry provably did not reach X
///  InFlight, Pending,       (unchanged)                 a caller, other print     answered as a nonce reuse
///    Finished success
///  Finished success         (unchanged)                 a caller, same print      replayed
///  Finished failure         (unchanged)                 the same request          replayed (kept seconds)
///  Finished failure         InFlight(owner')            any other request         a failure spends no nonce
///  InFlight, no upstream    InFlight(owner')            this process              its own claim whose write was
///                                                                                   never confirmed: nothing was sent
/// </code>
/// </remarks>
public static class SettlementTransitions
{
    /// <summary>What a caller with <paramref name="identity"/> makes of <paramref name="current"/>, and the record it would write.</summary>
    /// <param name="orphanClaimId">
    /// A claim this process wrote without learning whether it landed (its answer and its read-back were lost): nothing
    /// was sent under it, so it is taken over at once instead of waiting for its lease.
    /// </param>
    public static (ClaimKind Kind, SettlementRecord? Next) Claim(
        SettlementRecord? current, in SettlementIdentity identity, string claimId, long nowMs, long leaseMs, string? orphanClaimId = null)
    {
        var fresh = (ClaimKind.Claimed, InFlight(identity, claimId, null, false, nowMs, leaseMs));
        if (current is null)
        {
            return fresh;
        }

        var same = current.Fingerprint == identity.Fingerprint;
        switch (current.State)
        {
            case SettlementState.Finished when current.Success:
                return same ? (ClaimKind.Replay, null) : (ClaimKind.NonceReused, null);

            case SettlementState.Finished:
                // A failure spends no nonce and says something only about that request at that moment: it is replayed to
                // that very request, and any other one (a copy that differs outside the fingerprint, another
                // authorization with the nonce) settles afresh.
                return same && current.RequestDigest == identity.RequestDigest ? (ClaimKind.Replay, null) : fresh;

            case SettlementState.Pending when !same:
                return (ClaimKind.NonceReused, null);

            case SettlementState.Pending when current.UpstreamId is null:
                return (ClaimKind.Replay, null);

            case SettlementState.Pending:
                return (ClaimKind.ClaimedRetry, InFlight(identity, claimId, current.UpstreamId, true, nowMs, leaseMs) with { Transaction = current.Transaction });

            case SettlementState.InFlight when current.ClaimId == orphanClaimId && current.UpstreamId is null:
                return fresh;

            case SettlementState.InFlight when !same:
                return (ClaimKind.NonceReused, null);

            case SettlementState.InFlight when current.LeaseUntilMs > nowMs:
                return (ClaimKind.InFlight, null);

            case SettlementState.InFlight when current.UpstreamId is null:
                return fresh;

            default:
                return (ClaimKind.ClaimedRetry, InFlight(identity, claimId, current.UpstreamId, true, nowMs, leaseMs) with { Transaction = current.Transaction });
        }
    }

    /// <summary>The owner names the upstream it is about to send to; a retry may name only the upstream that holds it.</summary>
    public static SettlementChange Assign(SettlementRecord? current, string claimId, string upstreamId, long nowMs, long leaseMs) =>
        IsOwner(current, claimId) && (!current!.Retry || current.UpstreamId == upstreamId)
            ? SettlementChange.To(current with { UpstreamId = upstreamId, LeaseUntilMs = nowMs + leaseMs })
            : SettlementChange.Refused;

    /// <summary>The owner extends its lease.</summary>
    public static SettlementChange Renew(SettlementRecord? current, string claimId, long nowMs, long leaseMs) =>
        IsOwner(current, claimId) ? SettlementChange.To(current! with { LeaseUntilMs = nowMs + leaseMs }) : SettlementChange.Refused;

    /// <summary>
    /// An upstream answered. The owner records it; so may a former owner whose claim lapsed while it waited, when the
    /// answer is a success from the upstream that holds the settlement (a success is the outcome, whoever learned it).
    /// </summary>
    public static SettlementChange Finish(
        SettlementRecord? current, string claimId, Sha256Hash fingerprint, string upstreamId, bool success, int statusCode, string? contentType, byte[] body, long nowMs,
        string? extensionResponses = null)
    {
        var owner = IsOwner(current, claimId);
        var holderSucceeded = success && current is { State: SettlementState.Pending or SettlementState.InFlight } && current.Fingerprint == fingerprint
            && current.UpstreamId == upstreamId;
        if (!owner && !holderSucceeded)
        {
            return SettlementChange.Refused;
        }

        return SettlementChange.To(new SettlementRecord(
            SettlementState.Finished, current!.Fingerprint, current.Verified, upstreamId, claimId, 0, false, success, statusCode, contentType, body, nowMs,
            current.RequestDigest, null, extensionResponses));
    }

    /// <summary>
    /// The owner's attempt may have been processed by <paramref name="upstreamId"/> and its outcome is unknown; the
    /// transaction the upstream named is kept (a retry that names none keeps the one known before).
    /// </summary>
    public static SettlementChange MarkPending(SettlementRecord? current, string claimId, string upstreamId, long nowMs, string? transaction = null) =>
        IsOwner(current, claimId)
            ? SettlementChange.To(current! with
            {
                State = SettlementState.Pending, UpstreamId = upstreamId, LeaseUntilMs = 0, Retry = false, SinceMs = nowMs,
                Transaction = string.IsNullOrEmpty(transaction) ? current.Transaction : transaction,
            })
            : SettlementChange.Refused;

    /// <summary>
    /// The owner's settle provably reached no upstream: the record goes, so a repeat may try again — unless the claim
    /// was a retry, which leaves the settlement pending at its holder as before.
    /// </summary>
    public static SettlementChange Release(SettlementRecord? current, string claimId, long nowMs)
    {
        if (!IsOwner(current, claimId))
        {
            return SettlementChange.Refused;
        }

        return current!.Retry
            ? SettlementChange.To(current with { State = SettlementState.Pending, LeaseUntilMs = 0, Retry = false, SinceMs = nowMs })
            : SettlementChange.To(null);
    }

    private static bool IsOwner(SettlementRecord? current, string claimId) =>
        current is { State: SettlementState.InFlight } && current.ClaimId == claimId;

    private static SettlementRecord InFlight(in SettlementIdentity identity, string claimId, string? upstreamId, bool retry, long nowMs, long leaseMs) =>
        new(SettlementState.InFlight, identity.Fingerprint, identity.Verified, upstreamId, claimId, nowMs + leaseMs, retry, false, 0, null, null, nowMs, identity.RequestDigest);
}
