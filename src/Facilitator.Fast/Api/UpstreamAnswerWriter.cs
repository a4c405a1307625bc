using Facilitator.Fast.Routing;

namespace Facilitator.Fast.Api;

/// <summary>Returns an upstream's answer as it came: its status code and bytes, with which upstream answered and after how many attempts.</summary>
internal static class UpstreamAnswerWriter
{
    /// <summary>An upstream's per-extension answers (base64 JSON), which the official clients read: passed on as it came.</summary>
    public const string ExtensionResponsesHeader = "EXTENSION-RESPONSES";

    private static readonly string[] s_counts = [.. Enumerable.Range(0, 64).Select(static i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    public static void WriteRoutingHeaders(HttpResponse response, RouteResult result)
    {
        if (result.Upstream is { } upstream)
        {
            response.Headers[X402Endpoints.UpstreamHeader] = upstream.Id;
        }

        response.Headers[X402Endpoints.AttemptsHeader] = Count(result.Attempts);
    }

    public static async Task WriteAsync(HttpContext context, RouteResult result)
    {
        var response = context.Response;
        var body = result.Body!;
        response.StatusCode = result.Last.StatusCode;
        response.ContentType = result.Last.ContentType ?? "application/json";
        response.ContentLength = body.Length;
        WriteRoutingHeaders(response, result);
        if (result.Last.ExtensionResponses is { } extensions)
        {
            response.Headers[ExtensionResponsesHeader] = extensions;
        }

        await response.Body.WriteAsync(body.Memory, context.RequestAborted).ConfigureAwait(false);
    }

    private static string Count(int value) =>
        (uint)value < (uint)s_counts.Length ? s_counts[value] : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
