using Facilitator.Fast.Protocol;
using Facilitator.Fast.Settlement;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Reports <c>payment:settled</c> from the settlement coordinator, which tells its observers of every success this
/// instance owns — <c>/settle</c>, <c>/v1</c>, automatic settlement and the retries of pending settlements alike — and
/// never of a repeat answered from the ledger: so each authorization's settlement is reported once.
/// </summary>
internal sealed class SettledEventReporter(IPaymentEvents events, FeeSchedule fees) : ISettlementObserver
{
    public void Settled(ReadOnlySpan<byte> request, string upstreamId, ReadOnlySpan<byte> answer, TimeSpan elapsed)
    {
        if (!events.IsActive || PaymentRequestReader.TryRead(request, out var view) != PaymentRequestError.None
            || PaymentFacts.TryRead(request, view) is not { } payment)
        {
            return;
        }

        var transaction = UpstreamVerdict.Read(FacilitatorOperation.Settle, answer).Transaction;
        var fee = payment.Known is { } known ? fees.Fee(payment.Atomic, known.Decimals) : null;
        events.Settled(payment, upstreamId, transaction, fee, elapsed);
    }
}
