using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Facilitator.Fast.Telemetry;

/// <summary>
/// The service's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <c>Facilitator.Fast</c>. With no
/// listener (OpenTelemetry is off unless <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set) starting a span returns null and
/// recording a measurement does nothing, so the request path pays nothing for them.
/// </summary>
public static class FacilitatorTelemetry
{
    public const string Name = "Facilitator.Fast";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>Upstream attempts by upstream, operation and outcome (answered, or the kind of failure).</summary>
    public static readonly Counter<long> UpstreamAttempts = Meter.CreateCounter<long>("facilitator.upstream.attempts");

    /// <summary>Upstream attempt latency in milliseconds by upstream and operation.</summary>
    public static readonly Histogram<double> UpstreamDuration = Meter.CreateHistogram<double>("facilitator.upstream.duration", "ms");

    /// <summary>Hedges by the upstream that received them and whether they won.</summary>
    public static readonly Counter<long> Hedges = Meter.CreateCounter<long>("facilitator.hedges");

    /// <summary>Calls answered by another upstream than the first tried.</summary>
    public static readonly Counter<long> Failovers = Meter.CreateCounter<long>("facilitator.failovers");

    /// <summary>Local verification verdicts by verdict and check or cause.</summary>
    public static readonly Counter<long> LocalVerdicts = Meter.CreateCounter<long>("facilitator.local_verdicts");

    /// <summary>Requests refused by a rate limit, by policy.</summary>
    public static readonly Counter<long> RateLimitRefusals = Meter.CreateCounter<long>("facilitator.rate_limit.refusals");

    /// <summary>Operations that fell back to local state because Redis could not be reached.</summary>
    public static readonly Counter<long> RedisFallbacks = Meter.CreateCounter<long>("facilitator.redis.fallbacks");
}
