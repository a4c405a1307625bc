using Facilitator.Fast.Protocol;
using Microsoft.AspNetCore.Http.Features;

namespace Facilitator.Fast.Edge;

/// <summary>
/// The last line of defence, and the one frame every request's handling runs in: an exception that escapes a handler
/// becomes a JSON 500 in the endpoint's own shape (x402's for <c>/verify</c> and <c>/settle</c>, the API error format
/// elsewhere), never an HTML page or an empty 500, and never with a stack trace or any detail of the exception in the
/// answer; an error status answered without a body (a 404 of routing, a 405) gets the API error body; and whatever is
/// logged while the request runs carries its request id and path.
/// </summary>
/// <remarks>
/// ASP.NET Core's hosting diagnostics would give log lines the same scope, but only together with an
/// <see cref="System.Diagnostics.Activity"/> per request whether anything samples it or not (and a second one around
/// each upstream call); they are off in the shipped settings, and the activity exists only when tracing listens.
/// </remarks>
public sealed partial class UnhandledExceptionShield(ILogger logger)
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        using var scope = logger.BeginScope(new RequestLogScope(context.TraceIdentifier, context.Request.Path.Value));
        try
        {
            await next(context).ConfigureAwait(false);
            var response = context.Response;
            if (response.StatusCode is >= 400 and < 600 && !response.HasStarted && response.ContentLength is null && string.IsNullOrEmpty(response.ContentType))
            {
                await ApiErrorWriter.WriteForStatusAsync(context).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; there is no one to answer.
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            Log.Unhandled(logger, context.Request.Method, context.Request.Path.Value ?? "", ex.GetType().Name, ex);
            // Everything the handler began goes, headers included; the edge's own come back: the request id and security
            // headers here, CORS's and the rate limit's when the answer starts (they are written then).
            context.Response.Clear();
            EdgeHeaders.Apply(context);
            if (EdgeRefusal.IsPaymentEndpoint(context.Request.Path, out var operation))
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                context.Response.ContentType = "application/json";
                X402ResponseWriter.WriteFailure(
                    context.Response.BodyWriter,
                    operation,
                    operation == FacilitatorOperation.Settle ? X402Reasons.UnexpectedSettleError : X402Reasons.UnexpectedVerifyError,
                    "The gateway failed unexpectedly; the request id identifies it in the gateway's logs.",
                    default,
                    default,
                    default);
                await context.Response.BodyWriter.FlushAsync().ConfigureAwait(false);
                return;
            }

            await ApiErrorWriter.WriteAsync(context, StatusCodes.Status500InternalServerError, ApiErrorWriter.InternalError, "Internal error.").ConfigureAwait(false);
        }
        finally
        {
            TagServerError(context);
        }
    }

    /// <summary>
    /// A 5xx answer's <c>http.server.request.duration</c> gets <c>error.type</c> (its status code), as the semantic
    /// conventions ask: ASP.NET Core sets it only for an exception that escapes the pipeline, which this shield never lets
    /// happen. Only when the metric is listened to (its tags feature is there).
    /// </summary>
    internal static void TagServerError(HttpContext context)
    {
        var status = context.Response.StatusCode;
        if (status is < 500 or > 599 || context.Features.Get<IHttpMetricsTagsFeature>() is not { } metrics)
        {
            return;
        }

        foreach (var tag in metrics.Tags)
        {
            if (tag.Key == ErrorType)
            {
                return;
            }
        }

        metrics.Tags.Add(new(ErrorType, status switch
        {
            500 => "500",
            502 => "502",
            503 => "503",
            504 => "504",
            _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }));
    }

    private const string ErrorType = "error.type";

    private static partial class Log
    {
        [LoggerMessage(EventId = 3000, Level = LogLevel.Error, Message = "Unhandled {ExceptionType} answering {Method} {Path}")]
        public static partial void Unhandled(ILogger logger, string method, string path, string exceptionType, Exception exception);
    }
}
