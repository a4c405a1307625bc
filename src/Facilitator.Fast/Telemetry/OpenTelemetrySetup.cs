using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Facilitator.Fast.Telemetry;

/// <summary>
/// Exports traces (a server span per request, a client span per upstream attempt) and metrics (requests by route and
/// status, upstream attempts and latency, hedges, failovers, local verdicts, rate-limit refusals, Redis fallbacks)
/// with the OTLP exporter when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (<c>OTEL_SERVICE_NAME</c> and the
/// other standard variables apply), and the same metrics in the Prometheus text format at <c>GET /metrics</c> unless
/// <c>Metrics:Prometheus</c> is false. With neither, nothing is registered and nothing is paid.
/// </summary>
public static class OpenTelemetrySetup
{
    public const string PrometheusSetting = "Metrics:Prometheus";
    public const string PrometheusPath = "/metrics";

    /// <summary>Whether telemetry is exported: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    public static bool IsEnabled(IConfiguration configuration) => !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>Whether <c>GET /metrics</c> is served: <c>Metrics:Prometheus</c> is true or absent.</summary>
    public static bool IsPrometheusEnabled(IConfiguration configuration)
    {
        var text = configuration[PrometheusSetting];
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        return bool.TryParse(text, out var enabled)
            ? enabled
            : throw new InvalidSettingException(PrometheusSetting, $"'{text}' is not true or false.");
    }

    /// <summary>
    /// ASP.NET Core's meters listened to: the request duration and active requests, Kestrel's connections, and exceptions.
    /// Not the memory pool's (a measurement on every buffer rented) nor routing's (one on every request), and not through
    /// OpenTelemetry's <c>AddAspNetCoreInstrumentation</c>, which adds those and a middleware to every request in order
    /// to tag 5xx answers with <c>error.type</c> — done once by <see cref="Edge.UnhandledExceptionShield"/> instead.
    /// </summary>
    internal static readonly string[] AspNetCoreMeters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Diagnostics",
    ];

    /// <summary>Registers what is enabled; true when traces and metrics go to an OTLP endpoint.</summary>
    public static bool AddFacilitatorTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = IsEnabled(configuration);
        var prometheus = IsPrometheusEnabled(configuration);
        if (!otlp && !prometheus)
        {
            return false;
        }

        var telemetry = services.AddOpenTelemetry();
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(FacilitatorTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter());
        }

        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(FacilitatorTelemetry.Name).AddMeter(AspNetCoreMeters);
            if (otlp)
            {
                metrics.AddOtlpExporter();
            }

            if (prometheus)
            {
                metrics.AddPrometheusExporter();
            }
        });
        return otlp;
    }
}
