using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Events;

/// <summary>Turns what the payment paths report into <c>payment:*</c> events for the hub (which only enqueues them).</summary>
internal sealed class PaymentEventPublisher(EventHub hub) : IPaymentEvents
{
    public bool IsActive => hub.IsActive;

    public void Received(PaymentFacts payment, FacilitatorOperation operation) =>
        hub.Publish(new PaymentEvent(PaymentEventKind.Received, payment, operation, Now));

    public void Verified(PaymentFacts payment, string verifiedBy, TimeSpan verificationTime) =>
        hub.Publish(new PaymentEvent(PaymentEventKind.Verified, payment, FacilitatorOperation.Verify, Now, verifiedBy, verificationTime));

    public void Settled(PaymentFacts payment, string settledBy, string? transaction, string? fee, TimeSpan settlementTime) =>
        hub.Publish(new PaymentEvent(
            PaymentEventKind.Settled, payment, FacilitatorOperation.Settle, Now, settledBy, settlementTime, transaction, fee));

    public void Failed(PaymentFacts payment, FacilitatorOperation operation, string error, string? message, string? judgedBy) =>
        hub.Publish(new PaymentEvent(PaymentEventKind.Failed, payment, operation, Now, judgedBy, error: error, message: message));

    private long Now => hub.Time.GetUtcNow().ToUnixTimeMilliseconds();
}
