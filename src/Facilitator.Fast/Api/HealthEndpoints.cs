using Facilitator.Fast.Routing;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Api;

/// <summary>
/// Health routes for load balancers and monitors: <c>/health</c> (overall status with a check per dependency),
/// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (it can route a payment now).
/// </summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/health/live", static context => WriteAsync(context, StatusCodes.Status200OK, "ok", null))
            .Describe("Health", "200 while the process answers.")
            .Answering(StatusCodes.Status200OK, typeof(HealthAnswer));
        endpoints.MapGet("/health/ready", static context =>
        {
            // Ready while it can route a payment: Redis being away does not pull the instance (verifies need no Redis,
            // and settles fail closed on their own); shutting down does.
            var (_, healthy, _) = Count(context.RequestServices);
            var ready = healthy > 0 && !context.RequestServices.GetRequiredService<SettlementDrain>().IsDraining;
            return WriteAsync(context, ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, ready ? "ready" : "not ready", null);
        })
            .Describe("Health", "200 while the instance can route a payment.")
            .Answering(StatusCodes.Status200OK, typeof(HealthAnswer))
            .Answering(StatusCodes.Status503ServiceUnavailable, typeof(HealthAnswer));
        endpoints.MapGet("/health", static context =>
        {
            var (routes, healthy, checks) = Count(context.RequestServices);
            var degraded = healthy < routes
                || context.RequestServices.GetService<RedisConnection>() is { IsConnected: false } or { IsFailingFast: true }
                || context.RequestServices.GetRequiredService<SettlementDrain>().IsDraining;
            var status = healthy == 0 ? "unhealthy" : degraded ? "degraded" : "healthy";
            return WriteAsync(context, healthy == 0 ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK, status, checks);
        })
            .Describe("Health", "healthy, degraded or unhealthy, with the checks behind it.")
            .Answering(StatusCodes.Status200OK, typeof(HealthAnswer))
            .Answering(StatusCodes.Status503ServiceUnavailable, typeof(HealthAnswer));
        return endpoints;
    }

    private static (int Routes, int Healthy, Dictionary<string, string> Checks) Count(IServiceProvider services)
    {
        var table = services.GetRequiredService<RoutingTable>();
        var health = services.GetRequiredService<IUpstreamHealthStore>();
        var checks = new Dictionary<string, string>(StringComparer.Ordinal);
        var healthy = 0;
        var routes = table.Current.Routes;
        foreach (var route in routes)
        {
            var ok = health.IsHealthy(route.Upstream.Id);
            healthy += ok ? 1 : 0;
            checks["upstream:" + route.Upstream.Id] = ok ? "healthy" : "unhealthy";
        }

        if (services.GetService<RedisConnection>() is { } redis)
        {
            checks["redis"] = redis.IsConnected
                ? redis.IsFailingFast
                    ? $"not answering in time: rate limits use this instance's local buckets; one request tries Redis again every {redis.FailFast.Backoff.TotalSeconds:0} s"
                    : "ok"
                : services.GetRequiredService<RedisOptions>().LocalSettlementFallback
                    ? "unreachable: verifies are served; settles use this instance's local ledger (Redis:LocalSettlementFallback)"
                    : "unreachable: verifies are served; settles are refused with 503 until Redis returns";
            checks["redisFallbacks"] = redis.Fallbacks.ToString(System.Globalization.CultureInfo.InvariantCulture);
            checks["redisMaxmemoryPolicy"] = redis.EvictionPolicy ?? "unknown";
            checks["redisAppendOnly"] = redis.AppendOnly switch { true => "yes", false => "no", null => "unknown" };
        }
        else
        {
            checks["state"] = "in-memory";
        }

        checks["settlement"] = services.GetRequiredService<SettlementDrain>().IsDraining ? "draining: shutting down, new settles refused" : "accepting";
        return (routes.Length, healthy, checks);
    }

    private static async Task WriteAsync(HttpContext context, int status, string text, Dictionary<string, string>? checks)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        using (var writer = new System.Text.Json.Utf8JsonWriter(response.BodyWriter))
        {
            writer.WriteStartObject();
            writer.WriteString("status"u8, text);
            if (checks is not null)
            {
                writer.WriteStartObject("checks"u8);
                foreach (var (name, value) in checks)
                {
                    writer.WriteString(name, value);
                }

                writer.WriteEndObject();
            }

            writer.WriteNumber("timestamp"u8, (context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds());
            writer.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
