namespace Facilitator.Fast.Routing;

/// <summary>
/// Told, before each attempt of a settle, which upstream it is about to reach, so that the settlement ledger names the
/// upstream before the request leaves: an instance that dies mid-settle leaves a record that says where the
/// settlement may be, and a repeat asks that upstream only.
/// </summary>
public interface ISettleAttemptGate
{
    /// <summary>False when the attempt must not be sent (the ledger could not record it, or the claim was lost).</summary>
    ValueTask<bool> BeforeAttemptAsync(Upstream upstream);
}
