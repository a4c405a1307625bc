namespace Facilitator.Fast.State;

/// <summary>What is known about the settlement of one authorization.</summary>
public enum SettlementState : byte
{
    /// <summary>A caller is settling it now.</summary>
    InFlight = 0,

    /// <summary>An upstream answered; the answer is replayed to repeats.</summary>
    Finished,

    /// <summary>An upstream may have processed it and its outcome is unknown: repeats go to that upstream only.</summary>
    Pending,
}

/// <summary>
/// The ledger's entry for one authorization: its state, the upstream that holds it, and for a finished settlement
/// the answer as it came (status, content type, bytes).
/// </summary>
public sealed record SettlementRecord(
    SettlementState State,
    string? UpstreamId,
    int StatusCode,
    string? ContentType,
    byte[]? Body,
    DateTimeOffset Since);

/// <summary>The result of claiming a settlement: either this caller owns it, or what another caller left.</summary>
public readonly record struct SettlementClaim(bool Owned, SettlementRecord? Existing);
