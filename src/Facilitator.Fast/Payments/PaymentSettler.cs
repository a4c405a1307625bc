using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Settles a <c>/v1</c> payment by id through the settlement coordinator — the same claim, ledger and sticky retries as
/// <c>/settle</c>, so an authorization is settled once whichever API, instance or caller asks, concurrent callers share
/// one upstream call, and a payment pending at an upstream is asked again only there — and writes the outcome to the
/// payment record through the state machine's allowed transitions.
/// </summary>
public sealed partial class PaymentSettler(
    PaymentService payments,
    SettlementCoordinator settlements,
    LocalVerifier local,
    TimeProvider time,
    ILogger<PaymentSettler> logger,
    IPaymentEvents? events = null)
{
    public async ValueTask<PaymentOutcome> SettleAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await payments.GetAsync(id).ConfigureAwait(false) is not { } record)
        {
            return PaymentProblem.Of(SeedErrorCodes.NotFound, $"No payment {PaymentId.Format(id)}.");
        }

        // Every settle of a known payment is received; one answered with a problem failed; a settled or failed payment,
        // answered as it stands, has nothing more happen to it.
        var trace = PaymentEventTrace.Start(events, FacilitatorOperation.Settle, record, time);
        var outcome = await SettleAsync(record, trace, cancellationToken).ConfigureAwait(false);
        if (outcome.Problem is { } problem)
        {
            trace?.Failed(problem.Code, problem.Message);
        }

        return outcome;
    }

    private async ValueTask<PaymentOutcome> SettleAsync(PaymentRecord record, PaymentEventTrace? trace, CancellationToken cancellationToken)
    {
        var store = payments.Store;
        switch (record.Status)
        {
            case PaymentStatus.Settled or PaymentStatus.Failed:
                return new PaymentOutcome(record, null);
            case PaymentStatus.Expired:
                return PaymentProblem.Of(SeedErrorCodes.ExpiredProof, "The payment expired before it was settled: its authorization can no longer be settled.");
        }

        if (record.Request is not { } request)
        {
            return new PaymentOutcome(record, null);
        }

        using var body = PooledBytes.CopyOf(request);
        if (PaymentRequestReader.TryRead(body.Span, out var view) != PaymentRequestError.None)
        {
            return PaymentProblem.Unavailable("The stored request of this payment cannot be read.");
        }

        var verdict = local.Judge(body.Span, view, out var facts);
        if (record.Status == PaymentStatus.Verified && verdict.FailedCheck == LocalCheck.ValidBefore)
        {
            // Within local verification's margin of validBefore: too late to send, unless it was settled meanwhile.
            var reconciled = await payments.ReconcileAsync(record, pastValidity: true).ConfigureAwait(false);
            return reconciled.Status == PaymentStatus.Expired
                ? PaymentProblem.Of(SeedErrorCodes.ExpiredProof, "The payment expired before it was settled: its authorization can no longer be settled.")
                : new PaymentOutcome(reconciled, null);
        }

        if (record.Status == PaymentStatus.Verified && local.AnswersLocally(verdict))
        {
            // Verified earlier and judged otherwise now: only the validity window moves, and before validAfter it is early.
            trace?.JudgedBy = PaymentEventTrace.Local;
            return PaymentProblem.ForLocalCheck(verdict.FailedCheck);
        }

        if (record.Status == PaymentStatus.Settling && payments.IsPastValidity(record))
        {
            // Sent, its outcome unknown, and no longer valid: only the upstream that has it can tell; nothing is sent again.
            return new PaymentOutcome(record, null);
        }

        var settling = record with { Status = PaymentStatus.Settling };
        if (record.Status == PaymentStatus.Verified)
        {
            await store.TransitionAsync(PaymentTransitions.AllowedBefore(PaymentStatus.Settling, sent: false), settling).ConfigureAwait(false);
        }

        // A payment already settling stays with the upstream that has it, even where the ledger no longer remembers it.
        using var settlement = await settlements.SettleAsync(
            body, view, facts, cancellationToken, heldBy: record.Status == PaymentStatus.Settling ? record.SettledBy : null).ConfigureAwait(false);
        return await RecordAsync(settling, settlement, trace).ConfigureAwait(false);
    }

    /// <param name="trace">Told of a refusal this request was answered (a success is told by the settlement observer; a replay is not told).</param>
    private async ValueTask<PaymentOutcome> RecordAsync(PaymentRecord settling, SettlementResult settlement, PaymentEventTrace? trace)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        switch (settlement.Answer)
        {
            case SettlementAnswer.Routed when settlement.Route is { Outcome: RouteOutcome.Answered } answered:
                var verdict = UpstreamVerdict.Read(FacilitatorOperation.Settle, answered.Body!.Span);
                if (!verdict.Accepted)
                {
                    trace?.Failed(verdict.Reason ?? X402Reasons.UnexpectedSettleError, null, answered.Upstream!.Id);
                }

                return await FinishAsync(settling, answered.Upstream!.Id, verdict, now).ConfigureAwait(false);

            case SettlementAnswer.Routed when settlement.Route is { Outcome: RouteOutcome.SettlementPending } pending:
                return await PendingAsync(settling, pending.Upstream!.Id, pending.Last.Transaction).ConfigureAwait(false);

            case SettlementAnswer.Recorded when settlement.Record is { State: SettlementState.Finished, Body: { } recorded } finished:
                return await FinishAsync(settling, finished.UpstreamId ?? "", UpstreamVerdict.Read(FacilitatorOperation.Settle, recorded), now).ConfigureAwait(false);

            case SettlementAnswer.Recorded when settlement.Record is { } held:
                return await PendingAsync(settling, held.UpstreamId, held.Transaction).ConfigureAwait(false);

            case SettlementAnswer.NonceReused:
                trace?.Failed(X402Reasons.NonceAlreadyUsed, "Another authorization with this payer's nonce was settled or is being settled.", PaymentEventTrace.Local);
                return await WriteAsync(settling with
                {
                    Status = PaymentStatus.Failed,
                    Error = X402Reasons.NonceAlreadyUsed + ": another authorization with this payer's nonce was settled or is being settled",
                }, sent: true).ConfigureAwait(false);

            case SettlementAnswer.Abandoned:
                // The caller left while another request's settle ran: the record learns its holder now if the ledger
                // names one, so a later settle stays with it.
                return new PaymentOutcome(await payments.LearnHolderAsync(settling).ConfigureAwait(false), null);

            default:
                // Provably sent nowhere (every upstream down or refusing unread, the ledger unusable, shutting down).
                await WriteAsync(settling with { Status = PaymentStatus.Verified }, sent: false).ConfigureAwait(false);
                return PaymentProblem.Unavailable(
                    $"The payment was not settled, and not sent to any facilitator that could have settled it: {Describe(settlement)} Retry later.");
        }
    }

    private async ValueTask<PaymentOutcome> FinishAsync(PaymentRecord settling, string upstreamId, UpstreamVerdict verdict, long now)
    {
        var next = verdict.Accepted
            ? settling with { Status = PaymentStatus.Settled, SettledBy = upstreamId, Transaction = verdict.Transaction, SettledAtMs = now, Request = null, Error = null }
            : settling with { Status = PaymentStatus.Failed, SettledBy = upstreamId, Error = verdict.Reason ?? "settlement refused without a reason" };
        if (verdict.Accepted)
        {
            PaymentSettled(logger, settling.Network, upstreamId);
        }

        return await WriteAsync(next, sent: true).ConfigureAwait(false);
    }

    private async ValueTask<PaymentOutcome> PendingAsync(PaymentRecord settling, string? upstreamId, string? transaction) =>
        await WriteAsync(settling with { Status = PaymentStatus.Settling, SettledBy = upstreamId, Transaction = transaction }, sent: true).ConfigureAwait(false);

    /// <summary>Writes <paramref name="next"/> if the state machine allows it from what is stored; otherwise what is stored stands.</summary>
    private async ValueTask<PaymentOutcome> WriteAsync(PaymentRecord next, bool sent)
    {
        var moved = await payments.Store.TransitionAsync(PaymentTransitions.AllowedBefore(next.Status, sent), next).ConfigureAwait(false);
        if (moved.Applied && PaymentStatuses.IsFinal(next.Status))
        {
            await payments.Store.CompleteAsync(next.Id).ConfigureAwait(false);
        }

        return new PaymentOutcome(moved.Applied ? next : moved.Current ?? next, null);
    }

    private static string Describe(SettlementResult settlement) => settlement.Answer switch
    {
        SettlementAnswer.ShuttingDown => "this instance is shutting down.",
        SettlementAnswer.LedgerUnavailable => settlement.Message ?? "the settlement ledger cannot be used.",
        _ => settlement.Route is { } route ? $"{route.FailureSummary ?? "no facilitator available"}." : "no facilitator available.",
    };

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "[Payments] payment settled on {Network} by {UpstreamId}")]
    private static partial void PaymentSettled(ILogger logger, string network, string upstreamId);
}
