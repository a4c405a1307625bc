using Facilitator.Fast.Edge;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Events;

/// <summary>Registers, wires and maps the payment event stream (section <c>Events</c>).</summary>
public static class EventsServiceCollectionExtensions
{
    /// <summary>
    /// Call after <c>AddFacilitatorState</c> and <c>AddSettlementAnalytics</c> (the fee schedule): the hub, the payment
    /// events the payment paths report to, the settlement observer for <c>payment:settled</c>, and the service that
    /// runs it all — stopped before the Redis connection closes.
    /// </summary>
    /// <param name="allowedOrigins">The CORS origins (<c>Edge:Cors:AllowedOrigins</c>): the browser origins that may connect.</param>
    public static IServiceCollection AddEventStream(this IServiceCollection services, IConfiguration configuration, IReadOnlyList<string> allowedOrigins)
    {
        var settings = new EventsSettings(EventsOptions.Load(configuration), [.. allowedOrigins]);
        services.AddSingleton(settings);
        services.AddSingleton<EventStatistics>();
        services.AddSingleton<IEventFanOut>(static sp =>
            sp.GetRequiredService<EventsSettings>().Options.Enabled && sp.GetService<RedisConnection>() is { } redis
                ? new RedisEventFanOut(redis, sp.GetRequiredService<ILogger<RedisEventFanOut>>())
                : new InMemoryEventFanOut());
        services.AddSingleton<EventHub>();
        services.AddSingleton<IPaymentEvents, PaymentEventPublisher>();
        services.AddSingleton<ISettlementObserver, SettledEventReporter>();
        services.AddSingleton(static sp => new ConnectionLimits(sp.GetRequiredService<EventsSettings>().Options));
        services.AddSingleton(static sp => new ErrorEventMonitor(
            sp.GetRequiredService<EventHub>(),
            sp.GetRequiredService<IUpstreamHealthStore>(),
            sp.GetRequiredService<Routing.RoutingTable>(),
            sp.GetRequiredService<IEventFanOut>(),
            sp.GetService<RedisConnection>()));
        services.AddHostedService<EventsService>();
        return services;
    }

    /// <summary>
    /// The WebSocket middleware (over a stream that batches writes) and the browser credentials of the stream. Call before the authentication gate, so the
    /// gate sees a credential given in the query or a subprotocol.
    /// </summary>
    public static IApplicationBuilder UseEventStream(this IApplicationBuilder app)
    {
        var settings = app.ApplicationServices.GetRequiredService<EventsSettings>();
        if (!settings.Options.Enabled)
        {
            return app;
        }

        // Only the stream's own path goes through the WebSocket middleware (which would otherwise set up a handshake
        // feature on every request of every route).
        var path = settings.Options.Path;
        var credentials = new EventStreamCredentials(path, app.ApplicationServices.GetRequiredService<RequestAuthenticator>().ApiKeyHeader);
        return app.UseWhen(
            context => EventStreamCredentials.IsStreamPath(context.Request.Path, path),
            branch =>
            {
                branch.Use(CoalescingUpgradeFeature.For(path, settings.Options.DirectWrites));
                branch.UseWebSockets();
                branch.Use(credentials.InvokeAsync);
            });
    }

    /// <summary>Maps <c>Events:Path</c>, in the <c>v1</c> route group: events carry the same private facts as <c>/v1</c> records.</summary>
    public static IEndpointRouteBuilder MapEventStream(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var settings = services.GetRequiredService<EventsSettings>();
        if (!settings.Options.Enabled)
        {
            return endpoints;
        }

        var endpoint = new EventStreamEndpoint(
            services.GetRequiredService<EventHub>(),
            settings,
            services.GetRequiredService<ConnectionLimits>(),
            services.GetRequiredService<ILogger<EventStreamEndpoint>>());

        // Any method: a WebSocket over HTTP/2 (RFC 8441) arrives as CONNECT; anything that is not an upgrade gets 426.
        endpoints.Map(settings.Options.Path, endpoint.HandleAsync).WithMetadata(new RouteGroupMetadata(RouteGroup.V1));
        return endpoints;
    }
}
