using Facilitator.Fast.Edge;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Api;

/// <summary>
/// <c>POST /verify</c> and <c>POST /settle</c>: read the body once into a pooled buffer, check it is a facilitator
/// request, judge the payment locally, then either answer a locally rejected payment at once or route the original
/// bytes and answer with the upstream's answer as it came, or in the official failure shape.
/// </summary>
internal sealed class PaymentHandler(FailoverRouter router, SettlementCoordinator settlements, RoutingConfiguration configuration, LocalVerifier local)
{
    public const string LocalVerdictHeader = "X-Facilitator-Local-Verdict";
    public const string SettlementHeader = "X-Facilitator-Settlement";

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

        var verdict = local.Judge(body.Span, view);
        if (verdict.Kind != LocalVerdictKind.NotChecked)
        {
            context.Response.Headers[LocalVerdictHeader] = VerdictName(verdict.Kind);
        }

        if (local.AnswersLocally(verdict))
        {
            if (operation == FacilitatorOperation.Settle && await settlements.FindAsync(body.Memory, view).ConfigureAwait(false) is { } settled)
            {
                await WriteRecordedAsync(context, settled, view, body).ConfigureAwait(false);
                return;
            }

            await WriteFailureAsync(
                context, operation, StatusCodes.Status200OK, verdict.Reason(view.Version), verdict.Message, view, body).ConfigureAwait(false);
            return;
        }

        if (operation == FacilitatorOperation.Settle)
        {
            using var settlement = await settlements.SettleAsync(body.Memory, view).ConfigureAwait(false);
            if (ReferenceEquals(settlement, SettlementResult.LedgerUnavailable))
            {
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status503ServiceUnavailable, X402Reasons.UnexpectedSettleError,
                    "The settlement ledger is unreachable, so the settlement was not sent (that is what keeps it from reaching two facilitators); retry later.",
                    view, body).ConfigureAwait(false);
                return;
            }

            if (settlement.Recorded is { } recorded)
            {
                await WriteRecordedAsync(context, recorded, view, body).ConfigureAwait(false);
                return;
            }

            await WriteRoutedAsync(context, operation, settlement.Route!, verdict, view, body).ConfigureAwait(false);
            return;
        }

        using var result = await router.RouteAsync(operation, body.Memory, null, context.RequestAborted, kind: PaymentKind.Of(view)).ConfigureAwait(false);
        await WriteRoutedAsync(context, operation, result, verdict, view, body).ConfigureAwait(false);
    }

    private async Task WriteRoutedAsync(
        HttpContext context, FacilitatorOperation operation, RouteResult result, LocalVerdict verdict, PaymentRequestView view, PooledBytes body)
    {
        switch (result.Outcome)
        {
            case RouteOutcome.Answered:
                local.CompareWithUpstream(verdict, view.Version, operation, result.Body!.Span);
                await UpstreamAnswerWriter.WriteAsync(context, result).ConfigureAwait(false);
                return;

            case RouteOutcome.Unsupported:
                UpstreamAnswerWriter.WriteRoutingHeaders(context.Response, result);
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status200OK, X402Reasons.UnsupportedScheme, result.FailureSummary!, view, body).ConfigureAwait(false);
                return;

            case RouteOutcome.SettlementPending:
                UpstreamAnswerWriter.WriteRoutingHeaders(context.Response, result);
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status202Accepted, X402Reasons.SettlementPending,
                    $"The settlement was sent to facilitator '{result.Upstream!.Id}' and its outcome is unknown ({result.Last.Describe()}); "
                        + "it was not sent to any other facilitator.",
                    view, body).ConfigureAwait(false);
                return;

            default:
                UpstreamAnswerWriter.WriteRoutingHeaders(context.Response, result);
                await WriteFailureAsync(
                    context, operation, StatusCodes.Status503ServiceUnavailable,
                    operation == FacilitatorOperation.Settle ? X402Reasons.UnexpectedSettleError : X402Reasons.UnexpectedVerifyError,
                    result.Outcome == RouteOutcome.NoneEligible
                        ? "No healthy facilitators available."
                        : $"All facilitators failed: {result.FailureSummary}.",
                    view, body).ConfigureAwait(false);
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
            response.StatusCode = recorded.StatusCode;
            response.ContentType = recorded.ContentType ?? "application/json";
            response.ContentLength = recorded.Body.Length;
            await response.Body.WriteAsync(recorded.Body, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var holder = recorded.UpstreamId is null ? "an unknown facilitator" : $"facilitator '{recorded.UpstreamId}'";
        await WriteFailureAsync(
            context, FacilitatorOperation.Settle, StatusCodes.Status202Accepted, X402Reasons.SettlementPending,
            $"A settlement of this authorization is in progress or pending with {holder}; it will not be sent to any other facilitator.",
            view, body).ConfigureAwait(false);
    }

    private static string VerdictName(LocalVerdictKind kind) => kind switch
    {
        LocalVerdictKind.Valid => "valid",
        LocalVerdictKind.Invalid => "invalid",
        _ => "unjudged",
    };

    private static async Task WriteFailureAsync(
        HttpContext context, FacilitatorOperation operation, int status, string reason, string message, PaymentRequestView view, PooledBytes body)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        X402ResponseWriter.WriteFailure(response.BodyWriter, operation, reason, message, view.Network, view.Payer, body.Span);
        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
