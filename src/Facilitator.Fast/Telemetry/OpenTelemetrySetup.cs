using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Facilitator.Fast.Telemetry;

/// <summary>
/// Exports traces (a server span per request, a client span per upstream attempt) and metrics (requests by route and
/// status, upstream attempts and latency, hedges, failovers, local verdicts, rate-limit refusals, Redis fallbacks)
/// with the OTLP exporter when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (<c>OTEL_SERVICE_NAME</c> and the
/// other standard variables apply); when it is not, nothing is registered and nothing is paid.
/// </summary>
public static class OpenTelemetrySetup
{
    /// <summary>Whether telemetry is exported: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    public static bool IsEnabled(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    public static bool AddFacilitatorTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        if (!IsEnabled(configuration))
        {
            return false;
        }

        services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddSource(FacilitatorTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter())
            .WithMetrics(metrics => metrics
                .AddMeter(FacilitatorTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter());
        return true;
    }
}
