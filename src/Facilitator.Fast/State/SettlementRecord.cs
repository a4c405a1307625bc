namespace Facilitator.Fast.State;

/// <summary>The states of a settlement in the ledger; <c>Settlement/SettlementTransitions</c> says who moves it between them.</summary>
public enum SettlementState : byte
{
    /// <summary>A caller owns it under a lease and is settling it now, at <see cref="SettlementRecord.UpstreamId"/> once named.</summary>
    InFlight = 0,

    /// <summary>An upstream answered; the answer is replayed to repeats of the same authorization.</summary>
    Finished = 1,

    /// <summary>An upstream may have processed it and its outcome is unknown: repeats go to that upstream only.</summary>
    Pending = 2,
}

/// <summary>
/// The ledger's entry for one authorization: its state, the fingerprint of the authorization it was made for (a record
/// answers that authorization only), the upstream that has or may have it, the owner and lease of an in-flight claim,
/// and for a finished settlement the answer as it came (status, content type, bytes).
/// </summary>
/// <param name="Verified">The authorization's signature was recovered to its payer, so only the payer can have made it.</param>
/// <param name="ClaimId">In flight: the claim that owns it. Finished or pending: the claim that wrote it (no ownership).</param>
/// <param name="LeaseUntilMs">In flight: until when the owner's lease runs, in the store's clock (Unix milliseconds).</param>
/// <param name="Retry">In flight: a retry, on <paramref name="UpstreamId"/> only, of a settlement pending there.</param>
/// <param name="Success">Finished: the upstream reported the settlement successful.</param>
/// <param name="SinceMs">When the record took this state, in the store's clock (Unix milliseconds).</param>
/// <param name="RequestDigest">SHA-256 of the request that wrote it: a failure is replayed to that very request only.</param>
/// <param name="Transaction">Pending: the transaction the holder said it broadcast, when it named one.</param>
/// <param name="ExtensionResponses">Finished: the answer's <c>EXTENSION-RESPONSES</c> header, replayed with it.</param>
public sealed record SettlementRecord(
    SettlementState State,
    Sha256Hash Fingerprint,
    bool Verified,
    string? UpstreamId,
    string? ClaimId,
    long LeaseUntilMs,
    bool Retry,
    bool Success,
    int StatusCode,
    string? ContentType,
    byte[]? Body,
    long SinceMs,
    Sha256Hash RequestDigest = default,
    string? Transaction = null,
    string? ExtensionResponses = null);

/// <summary>
/// A record as read from a store: the record (null when there is none), the version a replacement must name (the
/// record object in memory, its stored bytes in Redis), and the store's clock at the read (Unix milliseconds).
/// </summary>
public readonly record struct StoredSettlement(SettlementRecord? Record, object? Version, long NowMs);

/// <summary>
/// The ledger cannot be used (Redis unreachable, or the in-memory ledger full of settlements that may not be
/// dropped): nothing was sent, and the settle is refused rather than run without the ledger.
/// </summary>
/// <remarks>
/// <see cref="Unreachable"/> is set only when the store could not be reached at all, so nothing it holds could be
/// read: only then may a local fallback settle. A store that answered (a write refused, a replica that did not
/// acknowledge a claim the primary holds, an unreadable record) may hold a claim the fallback cannot see.
/// </remarks>
public sealed class SettlementLedgerUnavailableException : Exception
{
    public SettlementLedgerUnavailableException(string reason, Exception? inner = null, bool unreachable = false)
        : base(reason, inner)
    {
        Unreachable = unreachable;
    }

    /// <summary>The store could not be reached (a lost connection, no answer in time), rather than answering with a refusal.</summary>
    public bool Unreachable { get; }
}
