namespace Facilitator.Fast.Settlement;

/// <summary>
/// Told when a settlement this instance owns succeeds at an upstream — through <c>/settle</c>, <c>/v1</c>, a retry at the
/// holder of a pending settlement or the reconciler alike. Only the claim's owner is told, and the ledger lets one
/// owner at a time send an authorization, so a success is told once across instances (a ledger write lost in a crash
/// can lose a notice; none is told twice). Replays from the ledger are not told.
/// </summary>
/// <remarks>Called on the settle path: an observer copies what it needs and returns; it never waits.</remarks>
public interface ISettlementObserver
{
    /// <param name="request">The settle request's bytes, as they were sent.</param>
    /// <param name="upstreamId">The upstream that settled it.</param>
    /// <param name="answer">The upstream's answer.</param>
    /// <param name="elapsed">From the claim to the answer.</param>
    void Settled(ReadOnlySpan<byte> request, string upstreamId, ReadOnlySpan<byte> answer, TimeSpan elapsed);
}
