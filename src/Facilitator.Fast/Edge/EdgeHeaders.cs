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

    /// <summary>Made request ids: 16 hex digits drawn once per process, then 16 of a counter — unique without a random draw per request.</summary>
    private static readonly ulong s_idPrefix = BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    private static long s_idCounter;

    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var started = Stopwatch.GetTimestamp();
        var incoming = context.Request.Headers[RequestId];
        var id = incoming.Count == 1 && IsSane(incoming[0]) ? incoming[0]! : NewRequestId();
        context.TraceIdentifier = id;
        Apply(context);
        context.Response.OnStarting(
            static state =>
            {
                var (response, began) = ((HttpResponse, long))state;
                response.Headers[ResponseTime] = Milliseconds(Stopwatch.GetElapsedTime(began));
                return Task.CompletedTask;
            },
            (context.Response, started));
        return next(context);
    }

    /// <summary>A request id of 32 lower-case hex digits, the shape a GUID's <c>N</c> format had.</summary>
    internal static string NewRequestId() =>
        string.Create(32, (s_idPrefix, (ulong)Interlocked.Increment(ref s_idCounter)), static (span, parts) =>
        {
            parts.Item1.TryFormat(span, out _, "x16", CultureInfo.InvariantCulture);
            parts.Item2.TryFormat(span[16..], out _, "x16", CultureInfo.InvariantCulture);
        });

    /// <summary>"1.234ms": whole microseconds written as milliseconds with up to three decimals, as <c>"0.###"</c> wrote them.</summary>
    internal static string Milliseconds(TimeSpan elapsed)
    {
        var micros = (long)elapsed.TotalMicroseconds;
        Span<char> buffer = stackalloc char[32];
        (micros / 1000).TryFormat(buffer, out var length, default, CultureInfo.InvariantCulture);
        var fraction = (int)(micros % 1000);
        if (fraction != 0)
        {
            buffer[length++] = '.';
            buffer[length++] = (char)('0' + (fraction / 100));
            buffer[length++] = (char)('0' + (fraction / 10 % 10));
            buffer[length++] = (char)('0' + (fraction % 10));
            while (buffer[length - 1] == '0')
            {
                length--;
            }
        }

        "ms".CopyTo(buffer[length..]);
        return new string(buffer[..(length + 2)]);
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
