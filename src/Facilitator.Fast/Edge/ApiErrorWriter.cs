using System.Text.Json;

namespace Facilitator.Fast.Edge;

/// <summary>
/// The one error format of the service's own APIs (<c>/api/*</c>, <c>/v1/*</c>):
/// <c>{error:{code, message, details?}, requestId, timestamp}</c>. x402 endpoints keep the x402 shapes instead.
/// </summary>
public static class ApiErrorWriter
{
    public const string ValidationError = "VALIDATION_ERROR";
    public const string Unauthorized = "HTTP_401";
    public const string Forbidden = "HTTP_403";
    public const string TooManyRequests = "HTTP_429";
    public const string NotFound = "NOT_FOUND";
    public const string UpstreamUnavailable = "UPSTREAM_UNAVAILABLE";
    public const string InternalError = "INTERNAL_ERROR";

    /// <summary>One field's problem, for <c>details</c>.</summary>
    public readonly record struct FieldError(string Field, string Message);

    public static async Task WriteAsync(
        HttpContext context, int status, string code, string message, IReadOnlyList<FieldError>? details = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        var timestamp = TimeProviderOf(context).GetUtcNow().ToUnixTimeMilliseconds();
        using (var writer = new Utf8JsonWriter(response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error"u8);
            writer.WriteString("code"u8, code);
            writer.WriteString("message"u8, message);
            if (details is { Count: > 0 })
            {
                writer.WriteStartArray("details"u8);
                foreach (var detail in details)
                {
                    writer.WriteStartObject();
                    writer.WriteString("field"u8, detail.Field);
                    writer.WriteString("message"u8, detail.Message);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteString("requestId"u8, context.TraceIdentifier);
            writer.WriteNumber("timestamp"u8, timestamp);
            writer.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// An error body for answers that have none (an unknown route, a method the route does not take), so that every
    /// error of the service is JSON in this format.
    /// </summary>
    public static Task WriteForStatusAsync(HttpContext context)
    {
        var status = context.Response.StatusCode;
        var (code, message) = status switch
        {
            StatusCodes.Status404NotFound => (NotFound, "No such endpoint."),
            StatusCodes.Status405MethodNotAllowed => ("HTTP_405", "The endpoint does not take this method."),
            StatusCodes.Status415UnsupportedMediaType => ("HTTP_415", "Unsupported media type."),
            StatusCodes.Status401Unauthorized => (Unauthorized, "Authentication is required."),
            StatusCodes.Status403Forbidden => (Forbidden, "Not allowed."),
            _ => ($"HTTP_{status}", "The request could not be served."),
        };
        return WriteAsync(context, status, code, message);
    }

    private static TimeProvider TimeProviderOf(HttpContext context) =>
        context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
}
