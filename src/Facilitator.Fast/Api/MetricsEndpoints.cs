using Facilitator.Fast.Edge;
using Facilitator.Fast.Telemetry;

namespace Facilitator.Fast.Api;

/// <summary>
/// <c>GET /metrics</c>: the OpenTelemetry Prometheus exporter's scrape of the service's meters, in the <c>api</c> route
/// group (its credentials, or callers on this machine only while none are configured), because a scrape tells how
/// much traffic and which upstreams.
/// </summary>
public static class MetricsEndpoints
{
    public static IEndpointRouteBuilder MapMetricsEndpoints(this IEndpointRouteBuilder endpoints, IConfiguration configuration)
    {
        if (OpenTelemetrySetup.IsPrometheusEnabled(configuration))
        {
            endpoints.MapPrometheusScrapingEndpoint(OpenTelemetrySetup.PrometheusPath)
                .WithMetadata(new RouteGroupMetadata(RouteGroup.Api), new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]))
                .Describe("Monitoring", "The service's metrics in the Prometheus text format (meter Facilitator.Fast and ASP.NET Core's).")
                .Answering(StatusCodes.Status200OK, typeof(string), "text/plain; version=0.0.4")
                .Failing(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden);
        }

        return endpoints;
    }
}
