using Facilitator.Fast.Edge;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Api;

/// <summary>
/// <c>POST /verify</c> and <c>POST /settle</c>: read the body once into a pooled buffer, check it is a facilitator
/// request, judge the payment locally, then either answer a locally rejected payment at once or route the original
/// bytes and answer with the upstream's answer as it came, or in the official failure shape. A request carrying a
/// readable EIP-3009 payment is reported to the event stream: received, then verified or failed (a settle's success is
/// reported by the settlement observer, once per authorization).
/// </summary>
internal sealed class PaymentHandler(
    FailoverRouter router,
    SettlementCoordinator settlements,
    PaymentIdentifierBindings identifiers,
    RoutingConfiguration configuration,
    LocalVerifier local,
    IPaymentEvents events,
    TimeProvider time)
{
    public const string LocalVerdictHeader = "X-Facilitator-Local-Verdict";
    public const string SettlementHeader = "X-Facilitator-Settlement";

    /// <summary><c>replayed</c> on a verify answered from the recorded answer of the same request under the same payment identifier.</summary>
    public const string IdentifierHeader = "X-Facilitator-Payment-Identifier";

    private readonly int _limit = configuration.Aggregator.MaxRequestBodyBytes;

    public async Task HandleAsync(HttpContext context, FacilitatorOperation operation)
    {
        var limit = _limit;
        using var body = RequestBodyReader.RentFor(context.Request, limit);
        switch (await RequestBodyReader.ReadAsync(context.Request, body, limit, context.RequestAborted).ConfigureAwait(false))
        {
            case BodyReadOutcome.TooLarge:
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status413PayloadTooLarge, X402Reasons.InvalidPayload,
                    $"The request body exceeds {limit} bytes.", default, body).ConfigureAwait(false);
                return;
            case BodyReadOutcome.Malformed:
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status400BadRequest, X402Reasons.InvalidPayload,
                    "The request body could not be read as HTTP.", default, body).ConfigureAwait(false);
                return;
        }

        var error = PaymentRequestReader.TryRead(body.Span, out var view);
        if (error != PaymentRequestError.None)
        {
            await WriteFailureAsync(
                context, operation, StatusCodes.Status400BadRequest, X402Reasons.For(error),
                PaymentRequestReader.Describe(error), default, body).ConfigureAwait(false);
            return;
        }

        var trace = PaymentEventTrace.Start(events, operation, body.Span, view, time);
        var (start, length) = view.PaymentPayloadRange;
        var identifierError = PaymentIdentifier.TryRead(body.Span.Slice(start, length), out var identifier);
        if (identifierError != PaymentIdentifierError.None)
        {
            await WriteFailureAsync(
                context, operation, StatusCodes.Status400BadRequest, X402Reasons.InvalidPaymentIdentifier,
                identifierError == PaymentIdentifierError.Missing
                    ? "The payment-identifier extension is required but the payment carries no id."
                    : $"The payment-identifier id must be {PaymentIdentifier.MinLength}-{PaymentIdentifier.MaxLength} letters, digits, '-' or '_'.",
                view, body, trace).ConfigureAwait(false);
            return;
        }

        AuthorizationFacts facts = default;
        var verdict = operation == FacilitatorOperation.Settle || identifier is not null
            ? local.Judge(body.Span, view, out facts)
            : local.Judge(body.Span, view);
        if (verdict.Kind != LocalVerdictKind.NotChecked)
        {
            context.Response.Headers[LocalVerdictHeader] = VerdictName(verdict.Kind);
        }

        if (local.AnswersLocally(verdict))
        {
            // A repeat of a settled (or pending, or in-flight) authorization that has expired since keeps its answer;
            // nothing else the ledger holds changes a local rejection. A ledger that cannot be read cannot say it was not
            // settled: the expiry is then no answer either.
            if (operation == FacilitatorOperation.Settle && verdict.FailedCheck is LocalCheck.ValidBefore or LocalCheck.ValidAfter)
            {
                var (read, settled) = await settlements.LookUpSameAsync(body.Memory, view, facts).ConfigureAwait(false);
                if (settled is not null)
                {
                    await WriteRecordedAsync(context, settled, view, body).ConfigureAwait(false);
                    return;
                }

                if (!read)
                {
                    context.Response.Headers.RetryAfter = "1";
                    await WriteFailureAsync(
                        context, operation, StatusCodes.Status503ServiceUnavailable, X402Reasons.UnexpectedSettleError,
                        "The settlement ledger cannot be read, so whether this authorization, now outside its validity window, was settled is unknown; nothing was sent. Retry later.",
                        view, body, trace).ConfigureAwait(false);
                    return;
                }
            }

            trace?.JudgedBy = PaymentEventTrace.Local;
            await WriteFailureAsync(
                context, operation, StatusCodes.Status200OK, verdict.Reason(view.Version), verdict.Message, view, body, trace).ConfigureAwait(false);
            return;
        }

        PaymentIdentifierBindings.Binding binding = default;
        if (identifier is not null)
        {
            binding = await identifiers.BindAsync(operation, identifier, body.Memory, view, facts, verdict).ConfigureAwait(false);
            if (binding.Decision == IdentifierDecision.Conflict)
            {
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status409Conflict, X402Reasons.PaymentIdentifierConflict,
                    "This payment identifier was first used with another authorization of this payer; one identifier names one payment.",
                    view, body, trace).ConfigureAwait(false);
                return;
            }

            if (binding.Answer is { } recorded)
            {
                trace?.Answered(PaymentEventTrace.Local, recorded.Body);
                await WriteIdentifierReplayAsync(context, recorded).ConfigureAwait(false);
                return;
            }
        }

        if (operation == FacilitatorOperation.Settle)
        {
            using var settlement = await settlements.SettleAsync(body, view, facts, context.RequestAborted).ConfigureAwait(false);
            await WriteSettlementAsync(context, settlement, verdict, view, body, trace).ConfigureAwait(false);
            return;
        }

        using var result = await router.RouteAsync(operation, body, null, context.RequestAborted, kind: PaymentKind.Of(view)).ConfigureAwait(false);
        if (identifier is not null && result.Outcome == RouteOutcome.Answered)
        {
            await identifiers.RecordAsync(
                binding, result.Last.StatusCode, result.Last.ContentType, result.Body!.Span.ToArray(), result.Last.ExtensionResponses).ConfigureAwait(false);
        }

        await WriteRoutedAsync(context, operation, result, verdict, view, body, trace).ConfigureAwait(false);
    }

    private static async Task WriteIdentifierReplayAsync(HttpContext context, RecordedAnswer recorded)
    {
        var response = context.Response;
        response.Headers[IdentifierHeader] = "replayed";
        response.Headers[X402Endpoints.AttemptsHeader] = "0";
        if (recorded.ExtensionResponses is { } extensions)
        {
            response.Headers[UpstreamAnswerWriter.ExtensionResponsesHeader] = extensions;
        }

        response.StatusCode = recorded.StatusCode;
        response.ContentType = recorded.ContentType ?? "application/json";
        response.ContentLength = recorded.Body.Length;
        await response.Body.WriteAsync(recorded.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task WriteSettlementAsync(
        HttpContext context, SettlementResult settlement, LocalVerdict verdict, PaymentRequestView view, PooledBytes body, PaymentEventTrace? trace)
    {
        switch (settlement.Answer)
        {
            case SettlementAnswer.Routed:
                await WriteRoutedAsync(context, FacilitatorOperation.Settle, settlement.Route!, verdict, view, body, trace).ConfigureAwait(false);
                return;

            case SettlementAnswer.Recorded:
                await WriteRecordedAsync(context, settlement.Record!, view, body).ConfigureAwait(false);
                return;

            case SettlementAnswer.NonceReused when settlement.ReusedKind == SettlementKeyKind.Payload:
                context.Response.Headers[SettlementHeader] = "refused";
                await WriteFailureAsync(
                    context, FacilitatorOperation.Settle, StatusCodes.Status200OK, X402Reasons.DuplicateSettlement,
                    "This payment was settled, is being settled or is pending for other payment requirements; it was not sent again.",
                    view, body, trace).ConfigureAwait(false);
                return;

            case SettlementAnswer.NonceReused:
                context.Response.Headers[SettlementHeader] = "refused";
                await WriteFailureAsync(
                    context, FacilitatorOperation.Settle, StatusCodes.Status200OK, X402Reasons.NonceAlreadyUsed,
                    "Another authorization with this payer's nonce was settled, is being settled or is pending; this one was not sent.",
                    view, body, trace).ConfigureAwait(false);
                return;

            case SettlementAnswer.ShuttingDown:
                context.Response.Headers.RetryAfter = "1";
                await WriteFailureAsync(
                    context, FacilitatorOperation.Settle, StatusCodes.Status503ServiceUnavailable, X402Reasons.UnexpectedSettleError,
                    "This gateway instance is shutting down and takes no new settle; it was not sent. Retry.", view, body, trace).ConfigureAwait(false);
                return;

            case SettlementAnswer.LedgerUnavailable:
                context.Response.Headers.RetryAfter = "1";
                await WriteFailureAsync(
                    context, FacilitatorOperation.Settle, StatusCodes.Status503ServiceUnavailable, X402Reasons.UnexpectedSettleError,
                    settlement.Message + " The settlement was not sent (that is what keeps it from reaching two facilitators); retry later.",
                    view, body, trace).ConfigureAwait(false);
                return;

            default:
                // The caller went away while another caller's settlement of the same authorization was under way.
                return;
        }
    }

    private async Task WriteRoutedAsync(
        HttpContext context, FacilitatorOperation operation, RouteResult result, LocalVerdict verdict, PaymentRequestView view, PooledBytes body,
        PaymentEventTrace? trace)
    {
        switch (result.Outcome)
        {
            case RouteOutcome.Answered:
                local.CompareWithUpstream(verdict, view.Version, operation, result.Body!.Span);
                trace?.Answered(result.Upstream!.Id, result.Body.Span);
                await UpstreamAnswerWriter.WriteAsync(context, result).ConfigureAwait(false);
                return;

            case RouteOutcome.Unsupported:
                UpstreamAnswerWriter.WriteRoutingHeaders(context.Response, result);
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status200OK, X402Reasons.UnsupportedScheme, result.FailureSummary!, view, body, trace).ConfigureAwait(false);
                return;

            case RouteOutcome.Rejected:
                // Every upstream asked said it could not read the request (or does not serve it), without a verdict:
                // the caller gets that in the official shape, and the upstreams' health is untouched.
                UpstreamAnswerWriter.WriteRoutingHeaders(context.Response, result);
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status400BadRequest, X402Reasons.InvalidPayload,
                    $"Every facilitator rejected the request: {result.FailureSummary}.", view, body, trace).ConfigureAwait(false);
                return;

            case RouteOutcome.SettlementPending:
                UpstreamAnswerWriter.WriteRoutingHeaders(context.Response, result);
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status202Accepted, X402Reasons.SettlementPending,
                    $"The settlement was sent to facilitator '{result.Upstream!.Id}' and its outcome is unknown ({result.Last.Describe()}); "
                        + "it was not sent to any other facilitator.",
                    view, body, null, result.Last.Transaction).ConfigureAwait(false);
                return;

            default:
                UpstreamAnswerWriter.WriteRoutingHeaders(context.Response, result);
                if (result.RetryAfter is { } retryAfter)
                {
                    context.Response.Headers.RetryAfter = retryAfter;
                }

                await WriteFailureAsync(
                    context, operation, StatusCodes.Status503ServiceUnavailable,
                    operation == FacilitatorOperation.Settle ? X402Reasons.UnexpectedSettleError : X402Reasons.UnexpectedVerifyError,
                    result.Outcome == RouteOutcome.NoneEligible
                        ? $"{result.FailureSummary ?? "No healthy facilitators available"}."
                        : $"All facilitators failed: {result.FailureSummary}.",
                    view, body, trace).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>A settle answered from the ledger: the recorded answer, or pending with the upstream that holds it.</summary>
    private static async Task WriteRecordedAsync(HttpContext context, SettlementRecord recorded, PaymentRequestView view, PooledBytes body)
    {
        var response = context.Response;
        response.Headers[SettlementHeader] = "replayed";
        if (recorded.UpstreamId is not null)
        {
            response.Headers[X402Endpoints.UpstreamHeader] = recorded.UpstreamId;
        }

        response.Headers[X402Endpoints.AttemptsHeader] = "0";
        if (recorded.State == SettlementState.Finished && recorded.Body is not null)
        {
            if (recorded.ExtensionResponses is { } extensions)
            {
                response.Headers[UpstreamAnswerWriter.ExtensionResponsesHeader] = extensions;
            }

            response.StatusCode = recorded.StatusCode;
            response.ContentType = recorded.ContentType ?? "application/json";
            response.ContentLength = recorded.Body.Length;
            await response.Body.WriteAsync(recorded.Body, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        await WriteFailureAsync(
            context, FacilitatorOperation.Settle, StatusCodes.Status202Accepted, X402Reasons.SettlementPending,
            recorded.UpstreamId is null
                ? "A settlement of this authorization is in progress and has not reached a facilitator yet; retry for its outcome."
                : $"A settlement of this authorization is in progress or pending with facilitator '{recorded.UpstreamId}'; it will not be sent to any other facilitator.",
            view, body, null, recorded.Transaction).ConfigureAwait(false);
    }

    private static string VerdictName(LocalVerdictKind kind) => kind switch
    {
        LocalVerdictKind.Valid => "valid",
        LocalVerdictKind.Invalid => "invalid",
        _ => "unjudged",
    };

    /// <param name="trace">Told that the request failed; null where the answer is no failure of the payment (pending).</param>
    private static async Task WriteFailureAsync(
        HttpContext context, FacilitatorOperation operation, int status, string reason, string message, PaymentRequestView view, PooledBytes body,
        PaymentEventTrace? trace = null, string? transaction = null)
    {
        trace?.Failed(reason, message);
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        X402ResponseWriter.WriteFailure(response.BodyWriter, operation, reason, message, view.Network, view.Payer, body.Span, transaction);
        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
