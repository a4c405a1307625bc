using Microsoft.Extensions.Primitives;

namespace Facilitator.Fast.Events;

/// <summary>
/// Lets a browser, which cannot set headers on a WebSocket, present its API key or JWT: in a <c>token</c> query
/// parameter, or as a subprotocol <c>bearer.&lt;token&gt;</c> in <c>Sec-WebSocket-Protocol</c>. Runs before the
/// authentication gate on the event stream's path only, and moves the credential where the gate reads every
/// credential — <c>Authorization: Bearer</c> for a JWT, the API key header otherwise — so it is validated, counted and
/// locked out exactly as on the REST edge. The <c>token</c> parameter is removed from the query, so nothing later
/// (logs, traces) sees it.
/// </summary>
/// <remarks>
/// A request presenting a credential in two places carries two, and the gate refuses it rather than pick one.
/// </remarks>
internal sealed class EventStreamCredentials(PathString path, string apiKeyHeader)
{
    public const string QueryParameter = "token";
    public const string ProtocolPrefix = "bearer.";

    public static bool IsCredentialProtocol(string protocol) =>
        protocol.Length > ProtocolPrefix.Length && protocol.StartsWith(ProtocolPrefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>The stream's path, in any letter case, with or without a trailing slash.</summary>
    public static bool IsStreamPath(PathString requested, PathString path) =>
        requested.StartsWithSegments(path, StringComparison.OrdinalIgnoreCase, out var rest) && rest.Value is null or "" or "/";

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (IsStreamPath(request.Path, path))
        {
            TakeFromQuery(request);
            TakeFromProtocols(request);
        }

        return next(context);
    }

    private void TakeFromQuery(HttpRequest request)
    {
        if (!request.Query.TryGetValue(QueryParameter, out var tokens))
        {
            return;
        }

        foreach (var token in tokens)
        {
            Present(request, token ?? "");
        }

        var kept = new List<KeyValuePair<string, string?>>();
        foreach (var (key, values) in request.Query)
        {
            if (!string.Equals(key, QueryParameter, StringComparison.OrdinalIgnoreCase))
            {
                kept.AddRange(values.Select(value => KeyValuePair.Create(key, value)));
            }
        }

        request.QueryString = QueryString.Create(kept);
    }

    private void TakeFromProtocols(HttpRequest request)
    {
        foreach (var header in request.Headers.SecWebSocketProtocol)
        {
            foreach (var part in (header ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (IsCredentialProtocol(part))
                {
                    Present(request, part[ProtocolPrefix.Length..]);
                }
            }
        }
    }

    /// <summary>Adds the credential where the gate reads it: a JWT (three dot-separated parts, a JSON header) as a bearer token, anything else as an API key.</summary>
    private void Present(HttpRequest request, string credential)
    {
        var headers = request.Headers;
        if (headers[apiKeyHeader].Count > 0)
        {
            // A credential is already there: this one joins it in the same header, which the gate refuses as two.
            headers[apiKeyHeader] = StringValues.Concat(headers[apiKeyHeader], credential);
            return;
        }

        if (headers.Authorization.Count > 0)
        {
            headers.Authorization = StringValues.Concat(headers.Authorization, "Bearer " + credential);
            return;
        }

        if (credential.StartsWith("eyJ", StringComparison.Ordinal) && credential.AsSpan().Count('.') == 2)
        {
            headers.Authorization = StringValues.Concat(headers.Authorization, "Bearer " + credential);
        }
        else
        {
            headers[apiKeyHeader] = StringValues.Concat(headers[apiKeyHeader], credential);
        }
    }
}
