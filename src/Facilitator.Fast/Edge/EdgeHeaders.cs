using System.Buffers;
using System.Diagnostics;
using System.Globalization;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Headers every answer carries: <c>X-Request-Id</c> (a sane incoming one is kept, otherwise one is made, and it is
/// the request's trace identifier in logs and error bodies), <c>X-Response-Time</c>, and the security headers
/// (<c>nosniff</c>, frame denial, no referrer).
/// </summary>
public static class EdgeHeaders
{
    public const string RequestId = "X-Request-Id";
    public const string ResponseTime = "X-Response-Time";
    private const int MaxRequestIdLength = 128;

    private static readonly SearchValues<char> s_requestIdCharacters =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:");

    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var started = Stopwatch.GetTimestamp();
        var incoming = context.Request.Headers[RequestId];
        var id = incoming.Count == 1 && IsSane(incoming[0]) ? incoming[0]! : Guid.NewGuid().ToString("N");
        context.TraceIdentifier = id;
        Apply(context);
        context.Response.OnStarting(
            static state =>
            {
                var (response, began) = ((HttpResponse, long))state;
                response.Headers[ResponseTime] = Stopwatch.GetElapsedTime(began).TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
                return Task.CompletedTask;
            },
            (context.Response, started));
        return next(context);
    }

    /// <summary>Sets the request id and security headers (again, after an error handler cleared the response).</summary>
    public static void Apply(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers[RequestId] = context.TraceIdentifier;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
    }

    /// <summary>A CORS preflight: OPTIONS with <c>Access-Control-Request-Method</c>; only these skip authentication and limits.</summary>
    public static bool IsPreflight(HttpRequest request) =>
        HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey("Access-Control-Request-Method");

    /// <summary>1-128 characters of letters, digits and <c>-_.:</c>: safe to echo into headers, logs and JSON.</summary>
    internal static bool IsSane(string? id) =>
        id is { Length: > 0 and <= MaxRequestIdLength } && !id.AsSpan().ContainsAnyExcept(s_requestIdCharacters);
}
