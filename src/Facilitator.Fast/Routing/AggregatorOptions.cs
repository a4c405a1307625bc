namespace Facilitator.Fast.Routing;

/// <summary>
/// How the gateway routes across upstream facilitators: section <c>Aggregator</c>, overridden by the seed's
/// <c>FACILITATOR_*</c> environment variables (see <see cref="SeedEnvironmentSettings"/>).
/// </summary>
public sealed class AggregatorOptions
{
    public const string SectionName = "Aggregator";

    /// <summary>When false only the first enabled upstream is used, without failover (<c>ENABLE_FACILITATOR_AGGREGATOR</c>).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Per-attempt timeout unless an upstream sets its own (<c>FACILITATOR_TIMEOUT_MS</c>).</summary>
    public int TimeoutMs { get; set; } = 5000;

    /// <summary>
    /// Per-attempt timeout of settle. Longer than <see cref="TimeoutMs"/> by default because a settle waits for the
    /// transaction, and a settle that times out cannot be retried elsewhere: it is answered <c>settlement_pending</c>.
    /// </summary>
    public int SettleTimeoutMs { get; set; } = 30_000;

    /// <summary>Extra attempts on the same upstream before the next one (<c>FACILITATOR_RETRIES</c>).</summary>
    public int Retries { get; set; } = 1;

    /// <summary>Consecutive failures that mark an upstream unhealthy (<c>FACILITATOR_MAX_CONSECUTIVE_FAILURES</c>).</summary>
    public int MaxConsecutiveFailures { get; set; } = 3;

    /// <summary>How long an unhealthy upstream is skipped before one request may try it again.</summary>
    public int UnhealthyCooldownMs { get; set; } = 30_000;

    /// <summary>Active health checks (<c>FACILITATOR_HEALTH_CHECK</c>): every upstream probed with <c>GET /supported</c> each interval.</summary>
    public bool HealthCheck { get; set; } = true;

    /// <summary>Interval of active health checks (<c>FACILITATOR_HEALTH_CHECK_INTERVAL_MS</c>).</summary>
    public int HealthCheckIntervalMs { get; set; } = 30_000;

    /// <summary>Log every upstream operation at Information level (<c>FACILITATOR_LOGGING</c>); otherwise at Debug.</summary>
    public bool Logging { get; set; }

    /// <summary>Hedge verify and discovery calls (never settle): after the hedge delay, the next upstream gets the same bytes.</summary>
    public bool Hedging { get; set; } = true;

    /// <summary>Lower bound of the hedge delay, which is otherwise the upstream's recent p95.</summary>
    public int HedgeMinDelayMs { get; set; } = 50;

    /// <summary>Upper bound of the hedge delay, and the delay while an upstream's p95 is not known yet.</summary>
    public int HedgeMaxDelayMs { get; set; } = 1000;

    /// <summary>Extra attempts (retries and hedges) allowed per routed call over a 10-second window.</summary>
    public double ExtraRequestRatio { get; set; } = 0.1;

    /// <summary>Extra attempts always allowed per 10-second window, so a quiet service can still retry.</summary>
    public int ExtraRequestMinimum { get; set; } = 10;

    /// <summary>
    /// The shortest time between two probe rounds that <c>POST /api/facilitator-status {"action":"check-health"}</c> may
    /// start, whoever asks: within it the last round's result is answered, so the action cannot be used to make the
    /// gateway flood its upstreams.
    /// </summary>
    public int CheckHealthMinIntervalMs { get; set; } = 5000;

    /// <summary>How long the merged <c>/supported</c> answer is served from cache.</summary>
    public int SupportedCacheMs { get; set; } = 60_000;

    /// <summary>How many recent operations the status API's <c>logs</c> keeps.</summary>
    public int OperationLogCapacity { get; set; } = 1000;

    /// <summary>Largest verify/settle request body accepted; larger bodies get 413.</summary>
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Largest upstream answer read; a larger one counts as a failed attempt.</summary>
    public int MaxResponseBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Connections open to one upstream at most (HTTP/1.1; with HTTP/2, streams share them): a slow upstream and
    /// hedging cannot open sockets without bound; requests beyond it wait for a connection within their timeout.
    /// </summary>
    public int MaxConnectionsPerUpstream { get; set; } = 256;
}
