using System.Text.Json;

namespace Facilitator.Fast.Edge;

/// <summary>
/// The one error format of the service's own APIs (<c>/api/*</c>, <c>/v1/*</c>):
/// <c>{error:{code, message, details?}, requestId, timestamp}</c>. x402 endpoints keep the x402 shapes instead.
/// </summary>
public static class ApiErrorWriter
{
    public const string ValidationError = "VALIDATION_ERROR";
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

    private static TimeProvider TimeProviderOf(HttpContext context) =>
        context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
}
