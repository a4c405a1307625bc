using System.Net.WebSockets;
using Facilitator.Fast.Edge;

namespace Facilitator.Fast.Events;

/// <summary>
/// The WebSocket endpoint at <c>Events:Path</c>. By the time it runs the edge has authenticated the upgrade like any
/// <c>/v1</c> request (<see cref="EventStreamCredentials"/> lets browsers present their credential); here a browser's
/// <c>Origin</c> must be a configured CORS origin (or the service's own), and the connection limits must allow one more
/// — all refused before the upgrade in the API error format — and then the client is served until it leaves.
/// </summary>
internal sealed partial class EventStreamEndpoint(EventHub hub, EventsSettings settings, ConnectionLimits limits, ILogger<EventStreamEndpoint> logger)
{
    /// <summary>The subprotocol a client may offer (and is answered with): the seed's JSON protocol.</summary>
    public const string Protocol = "facilitator-events";

    private readonly EventsOptions _options = settings.Options;

    /// <remarks>Refusals return the error's write; only an accepted upgrade runs a state machine for the connection's life.</remarks>
    public Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.Headers.Upgrade = "websocket";
            return ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status426UpgradeRequired, "HTTP_426", "This is the payment event stream: open it as a WebSocket.");
        }

        if (hub.IsStopping)
        {
            hub.Statistics.CountRefused();
            context.Response.Headers.RetryAfter = "1";
            return ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status503ServiceUnavailable, "HTTP_503", "This instance is shutting down; connect again.");
        }

        if (!IsOriginAllowed(context.Request))
        {
            return ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status403Forbidden, ApiErrorWriter.Forbidden,
                "This browser origin may not open the event stream; allowed origins are Edge:Cors:AllowedOrigins.");
        }

        var client = RateLimiter.AddressKey(context);
        if (!limits.TryAcquire(client))
        {
            hub.Statistics.CountRefused();
            context.Response.Headers.RetryAfter = "1";
            return ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status429TooManyRequests, ApiErrorWriter.TooManyRequests,
                limits.Total >= _options.MaxConnections
                    ? $"This instance holds its limit of {_options.MaxConnections} event stream connections (Events:MaxConnections); retry later."
                    : $"This client holds its limit of {_options.MaxConnectionsPerClient} event stream connections (Events:MaxConnectionsPerClient).");
        }

        return ServeAsync(context, client);
    }

    /// <summary>Upgrades and serves the client until it leaves; the connection slot taken for <paramref name="client"/> is given back whatever happens.</summary>
    private async Task ServeAsync(HttpContext context, string client)
    {
        try
        {
            WebSocket socket;
            try
            {
                socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
                {
                    SubProtocol = ChooseProtocol(context.WebSockets.WebSocketRequestedProtocols),
                    KeepAliveInterval = TimeSpan.FromMilliseconds(_options.PingIntervalMs),
                    KeepAliveTimeout = TimeSpan.FromMilliseconds(_options.PongTimeoutMs),
                    DangerousEnableCompression = false,
                }).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or InvalidOperationException)
            {
                return;
            }

            using (socket)
            {
                var subscriber = new Subscriber(
                    Guid.NewGuid().ToString("D"), _options.ClientQueueCapacity, _options.SlowConsumerPolicy, hub.Statistics, hub.Time, socket);
                hub.Add(subscriber);
                if (hub.IsStopping)
                {
                    subscriber.RequestClose(CloseRequest.GoingAway, "server shutting down");
                }

                Connected(logger, subscriber.ClientId, hub.Count);
                try
                {
                    var stream = (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpUpgradeFeature>() as CoalescingUpgradeFeature)?.Stream;
                    await new EventConnection(socket, subscriber, hub, _options, logger, stream).RunAsync().ConfigureAwait(false);
                }
                finally
                {
                    hub.Remove(subscriber);
                    subscriber.ReleaseQueued();
                    Disconnected(logger, subscriber.ClientId, (int?)socket.CloseStatus ?? 0, hub.Count);
                }
            }
        }
        finally
        {
            limits.Release(client);
        }
    }

    /// <summary>
    /// RFC 6455: the server answers with one of the subprotocols offered. <see cref="Protocol"/> when offered; otherwise
    /// the credential entry a browser had to offer (it holds the value already); otherwise none.
    /// </summary>
    internal static string? ChooseProtocol(IList<string> offered)
    {
        string? credential = null;
        foreach (var protocol in offered)
        {
            if (string.Equals(protocol, Protocol, StringComparison.OrdinalIgnoreCase))
            {
                return protocol;
            }

            if (credential is null && EventStreamCredentials.IsCredentialProtocol(protocol))
            {
                credential = protocol;
            }
        }

        return credential;
    }

    /// <summary>
    /// No <c>Origin</c> (a server-side client) passes; a browser's must be listed in the CORS origins (<c>*</c> lists all)
    /// or be the service's own, so a page elsewhere cannot read the stream with the visitor's network position.
    /// </summary>
    private bool IsOriginAllowed(HttpRequest request)
    {
        var origins = request.Headers.Origin;
        if (origins.Count == 0)
        {
            return true;
        }

        if (origins.Count > 1 || origins[0] is not { Length: > 0 } origin)
        {
            return false;
        }

        foreach (var allowed in settings.AllowedOrigins)
        {
            if (allowed == "*" || string.Equals(allowed.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        // The service's own origin counts only where the Host names this machine by address or as localhost: a Host
        // header is the client's to write, and a DNS-rebinding page would name its own domain in both.
        return IsAddressOrLocalhost(request.Host.Host)
            && string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsAddressOrLocalhost(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || System.Net.IPAddress.TryParse(host.Trim('[', ']'), out _);

    [LoggerMessage(EventId = 6020, Level = LogLevel.Debug, Message = "[Events] client {ClientId} connected ({Count} connected)")]
    private static partial void Connected(ILogger logger, string clientId, int count);

    [LoggerMessage(EventId = 6021, Level = LogLevel.Debug, Message = "[Events] client {ClientId} disconnected (close status {CloseStatus}; {Count} connected)")]
    private static partial void Disconnected(ILogger logger, string clientId, int closeStatus, int count);
}
