using System.Net;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Lets a request through to its route group only with the credentials that group requires: 401 when they are
/// missing or not valid (saying which, never echoing a secret), 403 when they are valid but not for this group.
/// The authenticated client's name is kept for rate limits.
/// </summary>
/// <remarks>
/// Credentials are looked at only where a group requires them: on an open route a presented key or token (a resource
/// server that keeps its CDP <c>Authorization</c> header, say) is neither checked nor counted. Where they are required,
/// the credential is checked first, so a valid one always passes; failures are counted per credential (a hash of it)
/// and per address, and only an address that keeps failing with credentials that are not valid is slowed (429).
/// The service's own APIs, when no credential protects them, answer only callers on this machine unless
/// <c>Auth:OpenApiToNetwork</c> opens them.
/// </remarks>
public sealed class AuthenticationGate
{
    public const string ClientNameItem = "facilitator.client";

    /// <summary>
    /// Set on a discovery request that may be sent with the operator's upstream credentials: every caller when no
    /// authentication is configured (there is no one to tell apart), else only callers authenticated for the x402 routes.
    /// </summary>
    public const string OperatorCredentialsItem = "facilitator.operator-credentials";

    private readonly RequestAuthenticator _authenticator;
    private readonly RateLimiter _limiter;
    private readonly bool[] _required = new bool[4];
    private readonly bool[] _localOnly = new bool[4];
    private readonly bool _hasCredentials;
    private readonly bool _publicPaymentStatus;

    public AuthenticationGate(RequestAuthenticator authenticator, RateLimiter limiter, AuthOptions options)
    {
        _authenticator = authenticator;
        _limiter = limiter;
        var api = options.RequireForApi ?? options.HasCredentials;
        _hasCredentials = options.HasCredentials;
        _publicPaymentStatus = options.PublicPaymentStatus;
        _required[(int)RouteGroup.X402] = options.RequireForX402;
        _required[(int)RouteGroup.Api] = api;
        _required[(int)RouteGroup.V1] = api;
        _required[(int)RouteGroup.Health] = options.RequireForHealth;
        _localOnly[(int)RouteGroup.Api] = !api && !options.OpenApiToNetwork;
        _localOnly[(int)RouteGroup.V1] = !api && !options.OpenApiToNetwork;
        if (_required.Any(static r => r) && !options.HasCredentials)
        {
            throw new InvalidSettingException("Auth", "authentication is required for a route group but no API key or JWT key is configured.");
        }
    }

    /// <summary>Open routes pass straight through (no state machine of this middleware per request); others are checked.</summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var group = RouteGroups.Of(context);
        if (EdgeHeaders.IsPreflight(request) || context.GetEndpoint()?.Metadata.GetMetadata<PublicFileMetadata>() is not null)
        {
            return next(context);
        }

        if (_publicPaymentStatus && group == RouteGroup.V1 && request.Path.StartsWithSegments("/v1/status"))
        {
            return next(context);
        }

        var discovery = group == RouteGroup.X402 && request.Path.StartsWithSegments("/discovery");
        if (discovery && !_hasCredentials)
        {
            context.Items[OperatorCredentialsItem] = true;
        }

        // A discovery caller who presents credentials asks to be recognised, so its query may carry the operator's.
        if (!_required[(int)group] && !(discovery && _hasCredentials && _authenticator.CredentialKey(request) is not null))
        {
            if (_localOnly[(int)group] && !IsLocalCaller(context))
            {
                return ApiErrorWriter.WriteAsync(
                    context, StatusCodes.Status403Forbidden, ApiErrorWriter.Forbidden,
                    "No API key or JWT key protects the service's own API, so it answers only callers on this machine. "
                    + "Configure Auth:ApiKeys or Auth:Jwt, or set Auth:OpenApiToNetwork=true to open it to the network without credentials.");
            }

            return next(context);
        }

        return AuthenticateAsync(context, next, group, discovery);
    }

    private async Task AuthenticateAsync(HttpContext context, RequestDelegate next, RouteGroup group, bool discovery)
    {
        var request = context.Request;
        if (_authenticator.CredentialKey(request) is not { } credential)
        {
            await RefuseAsync(context, $"Authentication is required: an API key in {_authenticator.ApiKeyHeader} or a bearer token.").ConfigureAwait(false);
            return;
        }

        if (!_limiter.MayTryCredential(credential))
        {
            context.Response.Headers.RetryAfter = "1";
            await EdgeRefusal.WriteAsync(
                context, StatusCodes.Status429TooManyRequests, ApiErrorWriter.TooManyRequests,
                "Rate limited: these credentials failed authentication too often; retry later with valid ones.").ConfigureAwait(false);
            return;
        }

        var result = await _authenticator.AuthenticateAsync(request).ConfigureAwait(false);
        if (result.Outcome != AuthOutcome.Authenticated)
        {
            if (_limiter.RecordAuthenticationFailure(context, credential) is var wait and > 0)
            {
                context.Response.Headers.RetryAfter = wait.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await EdgeRefusal.WriteAsync(
                    context, StatusCodes.Status429TooManyRequests, ApiErrorWriter.TooManyRequests,
                    "Rate limited: too many failed authentication attempts from this address; retry later.").ConfigureAwait(false);
                return;
            }

            await RefuseAsync(context, $"The credentials were refused: {result.Problem}.").ConfigureAwait(false);
            return;
        }

        context.Items[ClientNameItem] = result.ClientName;
        if (result.Groups is { Length: > 0 } groups && Array.IndexOf(groups, group) < 0)
        {
            await EdgeRefusal.WriteAsync(
                context, StatusCodes.Status403Forbidden, ApiErrorWriter.Forbidden,
                $"These credentials do not allow the {RouteGroups.Name(group)} routes.").ConfigureAwait(false);
            return;
        }

        if (discovery)
        {
            context.Items[OperatorCredentialsItem] = true;
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the caller is on this machine: the client address (as <see cref="TrustedProxyForwarding"/> resolved it) is
    /// loopback, and the request was not forwarded by a local proxy that is not trusted (its forwarded headers would
    /// otherwise make every caller behind it look local).
    /// </summary>
    internal static bool IsLocalCaller(HttpContext context)
    {
        if (context.Connection.RemoteIpAddress is not { } address)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (!IPAddress.IsLoopback(address))
        {
            return false;
        }

        var headers = context.Request.Headers;
        return TrustedProxyForwarding.WasResolved(context) || (!headers.ContainsKey("X-Forwarded-For") && !headers.ContainsKey("Forwarded"));
    }

    private static Task RefuseAsync(HttpContext context, string message)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return EdgeRefusal.WriteAsync(context, StatusCodes.Status401Unauthorized, ApiErrorWriter.Unauthorized, message);
    }
}
