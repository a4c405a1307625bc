using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Writes the answers the edge refuses a request with (401, 403, 429) in the shape the endpoint's callers parse: the
/// x402 failure shape on <c>/verify</c> and <c>/settle</c>, the API error format everywhere else.
/// </summary>
/// <remarks>
/// The official clients raise a typed <c>VerifyError</c>/<c>SettleError</c> only for a body that carries
/// <c>isValid</c>/<c>success</c>; anything else makes them fail to parse. x402 has no reason for "refused at the edge"
/// (no rate-limited or unauthorized reason exists in <c>x402</c> or <c>@x402/core</c>), so the generic
/// <c>unexpected_verify_error</c>/<c>unexpected_settle_error</c> is used and the message says what happened.
/// </remarks>
public static class EdgeRefusal
{
    /// <summary>Whether <paramref name="path"/> is <c>/verify</c> or <c>/settle</c>, whose answers have an x402 failure shape.</summary>
    public static bool IsPaymentEndpoint(PathString path, out FacilitatorOperation operation)
    {
        if (path.Equals("/verify", StringComparison.OrdinalIgnoreCase))
        {
            operation = FacilitatorOperation.Verify;
            return true;
        }

        operation = FacilitatorOperation.Settle;
        return path.Equals("/settle", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Answers <paramref name="status"/> with <paramref name="message"/>: x402's shape on the payment endpoints, <paramref name="apiCode"/> in the API format elsewhere.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string apiCode, string message)
    {
        if (!IsPaymentEndpoint(context.Request.Path, out var operation))
        {
            await ApiErrorWriter.WriteAsync(context, status, apiCode, message).ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        X402ResponseWriter.WriteFailure(
            response.BodyWriter,
            operation,
            operation == FacilitatorOperation.Settle ? X402Reasons.UnexpectedSettleError : X402Reasons.UnexpectedVerifyError,
            message,
            default,
            default,
            default);
        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
