using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Where the payment paths — <c>/verify</c>, <c>/settle</c> and <c>/v1</c> alike — report what happens to each payment,
/// for the event stream. Defined here so the payment paths know nothing of who listens.
/// </summary>
/// <remarks>
/// Called on the request path: an implementation only enqueues and returns, it never waits. Callers check
/// <see cref="IsActive"/> first, so a gateway nobody listens to does not even read the payment's facts.
/// </remarks>
public interface IPaymentEvents
{
    /// <summary>Whether anybody may listen (a subscriber here, or other instances through Redis).</summary>
    bool IsActive { get; }

    /// <summary>A verify or settle of this payment arrived.</summary>
    void Received(PaymentFacts payment, FacilitatorOperation operation);

    /// <summary>A verify accepted it: <paramref name="verifiedBy"/> is the upstream that judged, or <c>local</c>.</summary>
    void Verified(PaymentFacts payment, string verifiedBy, TimeSpan verificationTime);

    /// <summary>An upstream settled it (told once per authorization; a settle answered from the ledger is not told).</summary>
    void Settled(PaymentFacts payment, string settledBy, string? transaction, string? fee, TimeSpan settlementTime);

    /// <summary>A verify or settle of it was refused or failed, with the reason the caller was given.</summary>
    /// <param name="judgedBy">The upstream whose verdict it was, <c>local</c> for the gateway's own checks, or null.</param>
    void Failed(PaymentFacts payment, FacilitatorOperation operation, string error, string? message, string? judgedBy);
}
