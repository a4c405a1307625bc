using System.Text.Json;
using System.Text.RegularExpressions;

namespace Facilitator.Fast.Edge;

/// <summary>
/// The one error format of the service's own APIs (<c>/api/*</c>, <c>/v1/*</c>):
/// <c>{error:{code, message, details?}, requestId, timestamp}</c>. x402 endpoints keep the x402 shapes instead.
/// </summary>
/// <remarks>
/// Messages quote the caller's input in single quotes (<c>'bogus' is not one of ...</c>). Whatever a handler passes, an
/// answer stays small: a quoted echo longer than <see cref="MaxEchoLength"/> characters is cut with "…", a message is
/// at most <see cref="MaxMessageLength"/> characters, and at most <see cref="MaxDetailsPerField"/> details are listed
/// per field, then one saying how many more there were — so a request cannot make its error answer larger than itself.
/// </remarks>
public static partial class ApiErrorWriter
{
    public const int MaxEchoLength = 64;
    public const int MaxMessageLength = 512;
    public const int MaxDetailsPerField = 5;

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
            writer.WriteString("message"u8, Bound(message));
            if (details is { Count: > 0 })
            {
                WriteDetails(writer, details);
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

    private static void WriteDetails(Utf8JsonWriter writer, IReadOnlyList<FieldError> details)
    {
        var perField = new Dictionary<string, int>(StringComparer.Ordinal);
        writer.WriteStartArray("details"u8);
        foreach (var detail in details)
        {
            var field = Bound(detail.Field);
            var count = perField[field] = perField.GetValueOrDefault(field) + 1;
            if (count <= MaxDetailsPerField)
            {
                WriteDetail(writer, field, Bound(detail.Message));
            }
        }

        foreach (var (field, count) in perField)
        {
            if (count > MaxDetailsPerField)
            {
                WriteDetail(writer, field, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{count - MaxDetailsPerField} more problems of this field are not listed."));
            }
        }

        writer.WriteEndArray();
    }

    private static void WriteDetail(Utf8JsonWriter writer, string field, string message)
    {
        writer.WriteStartObject();
        writer.WriteString("field"u8, field);
        writer.WriteString("message"u8, message);
        writer.WriteEndObject();
    }

    /// <summary>Cuts each single-quoted echo to <see cref="MaxEchoLength"/> characters and the whole text to <see cref="MaxMessageLength"/>, marking cuts with "…".</summary>
    internal static string Bound(string text)
    {
        if (text.Contains('\''))
        {
            text = LongEcho().Replace(text, static match => string.Concat("'", match.ValueSpan.Slice(1, MaxEchoLength), "…'"));
        }

        return text.Length > MaxMessageLength ? string.Concat(text.AsSpan(0, MaxMessageLength), "…") : text;
    }

    /// <summary>A quoted echo longer than <see cref="MaxEchoLength"/>: quotes not inside a word (an apostrophe is no quote).</summary>
    [GeneratedRegex("(?<![\\p{L}\\p{N}])'[^']{65,}'(?![\\p{L}\\p{N}])", RegexOptions.CultureInvariant)]
    private static partial Regex LongEcho();

    private static TimeProvider TimeProviderOf(HttpContext context) =>
        context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;
}
