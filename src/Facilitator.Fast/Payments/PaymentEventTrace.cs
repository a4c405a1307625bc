using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Payments;

/// <summary>
/// The events of one verify or settle request, from its arrival to its outcome: created only when somebody listens
/// and the request carries a readable EIP-3009 payment (otherwise null, and every call site skips it), it reports
/// <c>payment:received</c> at once and then how the request ended, with the time it took.
/// </summary>
public sealed class PaymentEventTrace
{
    /// <summary>The judge of a verdict the gateway gave itself, without an upstream.</summary>
    public const string Local = "local";

    private readonly IPaymentEvents _events;
    private readonly TimeProvider _time;
    private readonly long _started;

    private PaymentEventTrace(IPaymentEvents events, FacilitatorOperation operation, PaymentFacts payment, TimeProvider time)
    {
        _events = events;
        _time = time;
        _started = time.GetTimestamp();
        Operation = operation;
        Payment = payment;
        events.Received(payment, operation);
    }

    public PaymentFacts Payment { get; }

    public FacilitatorOperation Operation { get; }

    /// <summary>Who gave the verdict once one was given: an upstream's id, or <c>local</c>.</summary>
    public string? JudgedBy { get; set; }

    /// <summary>Starts the events of an x402 request; null when nobody listens or it carries no readable EIP-3009 payment.</summary>
    public static PaymentEventTrace? Start(
        IPaymentEvents? events, FacilitatorOperation operation, ReadOnlySpan<byte> request, in PaymentRequestView view, TimeProvider time) =>
        events is { IsActive: true } && PaymentFacts.TryRead(request, view) is { } payment ? new(events, operation, payment, time) : null;

    /// <summary>Starts the events of a request about a stored <c>/v1</c> payment.</summary>
    public static PaymentEventTrace? Start(IPaymentEvents? events, FacilitatorOperation operation, PaymentRecord record, TimeProvider time) =>
        events is { IsActive: true } ? new(events, operation, PaymentFacts.From(record), time) : null;

    public void Verified(string verifiedBy) => _events.Verified(Payment, verifiedBy, _time.GetElapsedTime(_started));

    public void Failed(string error, string? message, string? judgedBy = null) =>
        _events.Failed(Payment, Operation, error, message, judgedBy ?? JudgedBy);

    /// <summary>
    /// An x402 answer came (from <paramref name="judgedBy"/>, an upstream or <c>local</c> for a recorded one): a verify's
    /// verdict either way; a settle's refusal only — its success is told by the settlement observer, once per
    /// authorization whoever asked, and a pending one is no outcome yet.
    /// </summary>
    public void Answered(string judgedBy, ReadOnlySpan<byte> answer)
    {
        var verdict = UpstreamVerdict.Read(Operation, answer);
        if (verdict.Accepted)
        {
            if (Operation == FacilitatorOperation.Verify)
            {
                Verified(judgedBy);
            }

            return;
        }

        if (!verdict.IsPending)
        {
            Failed(verdict.Reason ?? (Operation == FacilitatorOperation.Settle ? X402Reasons.UnexpectedSettleError : X402Reasons.UnexpectedVerifyError), null, judgedBy);
        }
    }

    /// <summary>How a <c>/v1</c> verify ended: the payment it answered with, or the problem.</summary>
    public void Finish(in PaymentOutcome outcome)
    {
        if (outcome.Record is { } record)
        {
            Verified(JudgedBy ?? record.VerifiedBy ?? Local);
        }
        else if (outcome.Problem is { } problem)
        {
            Failed(problem.Code, problem.Message);
        }
    }
}
