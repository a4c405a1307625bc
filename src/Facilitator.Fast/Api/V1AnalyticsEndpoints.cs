using System.Text.Json.Serialization.Metadata;
using System.Text.Json;
using Facilitator.Fast.Analytics;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Health;
using Facilitator.Fast.Payments;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Api;

/// <summary>
/// The seed's analytics routes (<c>GET /v1/analytics/overview</c>, <c>/networks</c>, <c>/revenue?period=</c>) and its
/// service status (<c>GET /v1/status</c>: stats, uptime in seconds, version): thin handlers over <see cref="AnalyticsReports"/>. They sit under <c>/v1</c>, so the <c>v1</c> authentication group and
/// rate-limit policy apply.
/// </summary>
internal static class V1AnalyticsEndpoints
{
    public const string Prefix = "/v1/analytics";

    public static IEndpointRouteBuilder MapV1AnalyticsEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Prefix + "/overview", static context =>
            WriteAsync(context, static (reports, _) => reports.OverviewAsync(), AnalyticsJsonContext.Default.AnalyticsOverview))
            .Describe("v1", "Totals of every settled payment: volume, fees, payments, by asset.")
            .Answering(StatusCodes.Status200OK, typeof(AnalyticsOverview))
            .Failing(401, 403, 429, 503);
        endpoints.MapGet(Prefix + "/networks", static context =>
            WriteAsync(context, static (reports, _) => reports.NetworksAsync(), AnalyticsJsonContext.Default.NetworkAnalyticsList))
            .Describe("v1", "Totals per network.")
            .Answering(StatusCodes.Status200OK, typeof(NetworkAnalyticsList))
            .Failing(401, 403, 429, 503);
        endpoints.MapGet(Prefix + "/revenue", RevenueAsync)
            .Describe("v1", "Revenue of a period in UTC buckets: period=day|week|month|year|30d.")
            .Answering(StatusCodes.Status200OK, typeof(RevenueReport))
            .Failing(400, 401, 403, 429, 503);
        endpoints.MapGet("/v1/status", static context => WriteAsync(context, static async (reports, services) =>
        {
            var open = await services.GetRequiredService<PaymentService>().CountOpenAsync().ConfigureAwait(false);
            var stats = await reports.StatsAsync(open).ConfigureAwait(false);
            var uptime = (long)services.GetRequiredService<UptimeTracker>().Elapsed.TotalSeconds;
            return new ServiceStatus(stats, uptime, ServiceVersion.Current);
        }, AnalyticsJsonContext.Default.ServiceStatus))
            .Describe("v1", "The seed's FacilitatorStats, uptime and version.")
            .Answering(StatusCodes.Status200OK, typeof(ServiceStatus))
            .Failing(401, 403, 429, 503);
        return endpoints;
    }

    private static Task RevenueAsync(HttpContext context)
    {
        var values = context.Request.Query["period"];
        var period = RevenuePeriod.Day;
        if (values.Count > 1 || (values.Count == 1 && !RevenuePeriods.TryParse(values[0], out period)))
        {
            var message = values.Count > 1 ? "must be given once." : $"'{values[0]}' is not one of {RevenuePeriods.Allowed}.";
            return ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status400BadRequest, ApiErrorWriter.ValidationError, "Invalid query.", [new("period", message)]);
        }

        return WriteAsync(context, (reports, _) => reports.RevenueAsync(period), AnalyticsJsonContext.Default.RevenueReport);
    }

    private static async Task WriteAsync<T>(
        HttpContext context, Func<AnalyticsReports, IServiceProvider, ValueTask<T>> build, JsonTypeInfo<T> type)
    {
        T report;
        try
        {
            report = await build(context.RequestServices.GetRequiredService<AnalyticsReports>(), context.RequestServices).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex) || ex is PaymentStoreUnavailableException)
        {
            await ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status503ServiceUnavailable, ApiErrorWriter.UpstreamUnavailable,
                "The analytics and payment records are shared through Redis, which cannot be reached now.").ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, report, type, context.RequestAborted).ConfigureAwait(false);
    }
}
