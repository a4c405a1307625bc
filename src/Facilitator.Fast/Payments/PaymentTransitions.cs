using Facilitator.Fast.State;

namespace Facilitator.Fast.Payments;

/// <summary>
/// The payment state machine: which status may follow which. Stores apply a change only if the current status is one
/// of those allowed before it, atomically, so two instances racing cannot move a payment backwards.
/// </summary>
/// <remarks>
/// <code>
///   verified ──settle starts──► settling ──upstream: success──► settled
///      │  ▲                        │  └──upstream: refused───► failed
///      │  └──not sent (all down)───┘
///      └──validBefore passed, never sent──► expired
/// </code>
/// A settle's outcome may arrive after another caller marked the payment expired at the boundary, or after a pending
/// answer; the truth wins: settled or failed may follow expired or settling. A refused settle spends no nonce, so the
/// same authorization may still be settled later (through <c>/settle</c>, as the settlement ledger shows): settled
/// may follow failed, and so may settling when the ledger shows it pending at an upstream. Nothing follows settled, and a payment never returns to verified once an upstream may have it
/// (settling is left only for an outcome).
/// </remarks>
public static class PaymentTransitions
{
    /// <summary>The statuses a payment may be in for <paramref name="next"/> to follow, as a flag set.</summary>
    public static PaymentStatusSet AllowedBefore(PaymentStatus next, bool sent) => next switch
    {
        PaymentStatus.Settling when sent => PaymentStatusSet.Of(PaymentStatus.Verified, PaymentStatus.Settling, PaymentStatus.Failed),
        PaymentStatus.Settling => PaymentStatusSet.Of(PaymentStatus.Verified, PaymentStatus.Settling),
        PaymentStatus.Settled => PaymentStatusSet.Of(PaymentStatus.Verified, PaymentStatus.Settling, PaymentStatus.Expired, PaymentStatus.Failed),
        PaymentStatus.Failed => PaymentStatusSet.Of(PaymentStatus.Verified, PaymentStatus.Settling, PaymentStatus.Expired),
        PaymentStatus.Expired => PaymentStatusSet.Of(PaymentStatus.Verified),

        // Back to verified only when the settle provably reached no upstream (it was never sent, or was refused unread).
        PaymentStatus.Verified when !sent => PaymentStatusSet.Of(PaymentStatus.Settling),
        _ => default,
    };
}
