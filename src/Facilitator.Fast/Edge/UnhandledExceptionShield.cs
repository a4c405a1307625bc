using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Edge;

/// <summary>
/// The last line of defence: an exception that escapes a handler becomes a JSON 500 in the endpoint's own shape
/// (x402's for <c>/verify</c> and <c>/settle</c>, the API error format elsewhere), never an HTML page or an empty 500,
/// and never with a stack trace or any detail of the exception in the answer.
/// </summary>
public static partial class UnhandledExceptionShield
{
    public static async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away; there is no one to answer.
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Facilitator.Fast.Edge");
            Log.Unhandled(logger, context.Request.Method, context.Request.Path.Value ?? "", ex.GetType().Name, ex);
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
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3000, Level = LogLevel.Error, Message = "Unhandled {ExceptionType} answering {Method} {Path}")]
        public static partial void Unhandled(ILogger logger, string method, string path, string exceptionType, Exception exception);
    }
}
