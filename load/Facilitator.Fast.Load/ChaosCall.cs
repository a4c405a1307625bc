namespace Facilitator.Fast.Load;

/// <summary>
/// One request of the chaos run as the client saw it: what it was, which instance answered (or failed to), when it
/// was sent and answered (seconds since the start), the status and what the answer said.
/// </summary>
/// <param name="Kind">verify, settle, settle repeat (other instance), v1 verify, v1 settle, v1 status, final repeat, final v1 repeat.</param>
/// <param name="Outcome">The status code, <c>timeout</c> (no answer within the client's timeout), <c>cut by kill</c> (the instance was killed under it) or <c>transport</c> (a connection failure on a live instance).</param>
/// <param name="Index">The payment of the run it carried.</param>
/// <param name="Success">A verify answered valid, a settle answered settled.</param>
/// <param name="Replayed">A settle answered from the ledger (<c>X-Facilitator-Settlement: replayed</c>): it published no event.</param>
/// <param name="Transaction">The transaction a successful settle named.</param>
/// <param name="Detail">For an answer that is not the expected one: the start of its body.</param>
internal sealed record ChaosCall(
    string Kind,
    int Instance,
    int Generation,
    double Sent,
    double Answered,
    string Outcome,
    int Index,
    bool Success,
    bool Replayed,
    string? Transaction,
    string Detail)
{
    public int Status => int.TryParse(Outcome, out var status) ? status : 0;

    public double LatencyMs => (Answered - Sent) * 1000;
}
