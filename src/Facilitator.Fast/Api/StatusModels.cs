namespace Facilitator.Fast.Api;

// The body of GET /api/facilitator-status, field for field as the seed's monitoring API shows it, plus latency
// percentiles. Sections are null (and omitted) when not included.

internal sealed record StatusReport(
    bool Enabled,
    string Timestamp,
    HealthSection? Health,
    StatisticsSection? Statistics,
    LocalVerificationReport? LocalVerification,
    List<LogEntry>? Logs,
    ConfigSection? Config,
    EventsSection? Events = null);

/// <summary>The payment event stream on this instance (with the statistics).</summary>
internal sealed record EventsSection(
    bool Enabled,
    string Path,
    bool SharedThroughRedis,
    int Subscribers,
    long EventsPublished,
    long EventsFromOtherInstances,
    long MessagesDelivered,
    long MessagesDropped,
    long LaggedClients,
    long SlowClientsClosed,
    long PublishDropped,
    long RelayFailures,
    long BadFrames,
    long RefusedConnections,
    long DirectWriteConnections);

/// <summary>Local verification: verdicts by check and cause, and in shadow mode how they compared with the upstreams.</summary>
internal sealed record LocalVerificationReport(
    string Mode,
    long Valid,
    Dictionary<string, long> Invalid,
    Dictionary<string, long> Unjudged,
    ShadowComparison Shadow);

internal sealed record ShadowComparison(long Agreements, long LocalStricter, long UpstreamStricter, long ReasonMismatches);

internal sealed record HealthSection(List<FacilitatorHealth> Facilitators, HealthSummary Summary);

internal sealed record FacilitatorHealth(
    string Id,
    string Name,
    bool Enabled,
    string? DisabledReason,
    bool IsHealthy,
    int ConsecutiveFailures,
    long TotalSuccesses,
    long TotalFailures,
    string SuccessRate,
    double AverageResponseTimeMs,
    string? LastSuccessfulCheck,
    string? LastFailure,
    string? LastError,
    string? UnhealthySince,
    long TimesMarkedUnhealthy,
    long TimesRecovered,
    string? Credentials = null,
    string? CredentialsRefusal = null,
    List<string>? Networks = null);

internal sealed record HealthSummary(int Total, int Healthy, int Unhealthy, int Disabled);

/// <param name="Failovers">Calls answered by another upstream than the first tried, since this instance started.</param>
/// <param name="RateLimited">Requests refused by a rate limit (429) on this instance since it started.</param>
internal sealed record StatisticsSection(List<FacilitatorStatistics> Facilitators, long Failovers, long RateLimited);

internal sealed record FacilitatorStatistics(string Id, OperationCounts Operations, ResultCounts Results, Performance Performance, HedgingCounts Hedging);

internal sealed record HedgingCounts(long Fired, long Won, long BudgetRefusals);

internal sealed record OperationCounts(long Verify, long Settle, long Supported, long List, long Total);

internal sealed record ResultCounts(long Success, long Failure, string SuccessRate);

internal sealed record Performance(double AverageResponseTimeMs, double P50Ms, double P95Ms, double P99Ms);

internal sealed record LogEntry(
    string Timestamp,
    string FacilitatorId,
    string Operation,
    bool Success,
    int Attempt,
    int? StatusCode,
    double DurationMs,
    string? Error);

internal sealed record ConfigSection(
    bool AggregatorEnabled,
    int TimeoutMs,
    int SettleTimeoutMs,
    int Retries,
    bool HealthCheck,
    int HealthCheckIntervalMs,
    int MaxConsecutiveFailures,
    int UnhealthyCooldownMs,
    bool Logging,
    int SupportedCacheMs,
    int MaxRequestBodyBytes,
    int OperationLogCapacity,
    CdpConfig Cdp,
    List<FacilitatorConfig> Facilitators);

internal sealed record CdpConfig(bool ApiKeyIdConfigured, bool ApiKeySecretConfigured);

internal sealed record FacilitatorConfig(
    string Id,
    string Name,
    string Url,
    int Priority,
    bool Enabled,
    string? DisabledReason,
    int TimeoutMs,
    int SettleTimeoutMs,
    int Retries,
    Dictionary<string, List<string>> HeaderNames,
    string? Auth);

internal sealed record StatusAction(string? Action);
