namespace Facilitator.Fast.Edge;

/// <summary>
/// Lets a request through to its route group only with the credentials that group requires: 401 when they are
/// missing or not valid (saying which, never echoing a secret), 403 when they are valid but not for this group.
/// The authenticated client's name is kept for rate limits.
/// </summary>
public sealed class AuthenticationGate
{
    public const string ClientNameItem = "facilitator.client";

    private readonly RequestAuthenticator _authenticator;
    private readonly RateLimiter _limiter;
    private readonly bool[] _required = new bool[4];

    public AuthenticationGate(RequestAuthenticator authenticator, RateLimiter limiter, AuthOptions options)
    {
        _authenticator = authenticator;
        _limiter = limiter;
        var api = options.RequireForApi ?? options.HasCredentials;
        _required[(int)RouteGroup.X402] = options.RequireForX402;
        _required[(int)RouteGroup.Api] = api;
        _required[(int)RouteGroup.V1] = api;
        _required[(int)RouteGroup.Health] = options.RequireForHealth;
        if (_required.Any(static r => r) && !options.HasCredentials)
        {
            throw new InvalidSettingException("Auth", "authentication is required for a route group but no API key or JWT key is configured.");
        }
    }

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var group = RouteGroups.Of(request.Path);
        var required = _required[(int)group] && !EdgeHeaders.IsPreflight(request);
        var presented = request.Headers.ContainsKey(_authenticator.ApiKeyHeader) || request.Headers.ContainsKey("Authorization");
        if (!required && !presented)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        if (presented && !_limiter.MayTryAuthentication(context))
        {
            context.Response.Headers.RetryAfter = "1";
            await ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status429TooManyRequests, ApiErrorWriter.TooManyRequests,
                "Too many failed authentication attempts from this address; retry later.").ConfigureAwait(false);
            return;
        }

        var result = await _authenticator.AuthenticateAsync(request).ConfigureAwait(false);
        if (result.Outcome == AuthOutcome.Authenticated)
        {
            context.Items[ClientNameItem] = result.ClientName;
        }
        else if (result.Outcome == AuthOutcome.Invalid)
        {
            _limiter.RecordAuthenticationFailure(context);
        }

        if (required && result.Outcome != AuthOutcome.Authenticated)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await ApiErrorWriter.WriteAsync(
                context,
                StatusCodes.Status401Unauthorized,
                ApiErrorWriter.Unauthorized,
                result.Outcome == AuthOutcome.Anonymous
                    ? $"Authentication is required: an API key in {_authenticator.ApiKeyHeader} or a bearer token."
                    : $"The credentials were refused: {result.Problem}.").ConfigureAwait(false);
            return;
        }

        if (required && result.Groups is { Length: > 0 } groups && Array.IndexOf(groups, group) < 0)
        {
            await ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status403Forbidden, ApiErrorWriter.Forbidden,
                $"These credentials do not allow the {RouteGroups.Name(group)} routes.").ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }
}
