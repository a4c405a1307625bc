namespace Facilitator.Fast.State;

/// <summary>What is known about the settlement of one authorization.</summary>
public enum SettlementState : byte
{
    /// <summary>A caller is settling it now (<see cref="SettlementRecord.UpstreamId"/> set when it retries a holder).</summary>
    InFlight = 0,

    /// <summary>An upstream answered; the answer is replayed to repeats.</summary>
    Finished = 1,

    /// <summary>An upstream may have processed it and its outcome is unknown: repeats go to that upstream only.</summary>
    Pending = 2,
}

/// <summary>
/// The ledger's entry for one authorization: its state, the upstream that holds it, for a finished settlement the
/// answer as it came (status, content type, bytes), and for an in-flight one the claim that owns it.
/// </summary>
public sealed record SettlementRecord(
    SettlementState State,
    string? UpstreamId,
    int StatusCode,
    string? ContentType,
    byte[]? Body,
    DateTimeOffset Since,
    string? ClaimId = null);

/// <summary>
/// The result of a claim: <see cref="Owned"/> with the <see cref="ClaimId"/> that records and releases must present,
/// or what another caller left.
/// </summary>
public readonly record struct SettlementClaim(bool Owned, string? ClaimId, SettlementRecord? Existing)
{
    public static SettlementClaim Own(string claimId) => new(true, claimId, null);

    public static SettlementClaim Taken(SettlementRecord existing) => new(false, null, existing);
}

/// <summary>The shared ledger could not be reached and local fallback is off: nothing was sent, the settle must wait.</summary>
public sealed class SettlementLedgerUnavailableException(Exception inner)
    : Exception("The settlement ledger is unreachable.", inner);
