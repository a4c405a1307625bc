using System.Globalization;
using System.Text.Json;
using Facilitator.Fast.Events;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Facilitator.Fast.State;
using Facilitator.Fast.Telemetry;

namespace Facilitator.Fast.Api;

/// <summary>
/// Builds the status API's sections from the routing table, the health store and the operation log. Secrets are
/// not redacted here because they are never read: header values, CDP credentials and URLs with credentials
/// (refused by validation) do not reach the report; only header names and whether a credential is set.
/// </summary>
internal sealed class StatusReportBuilder(
    RoutingConfiguration configuration,
    RoutingTable table,
    IUpstreamHealthStore health,
    OperationLog operations,
    LocalVerifier local,
    TimeProvider time,
    EventHub events,
    EventsSettings eventSettings,
    IEventFanOut fanOut,
    FailoverRouter router,
    Edge.RateLimiter limiter)
{
    public StatusReport Build(bool includeHealth, bool includeStats, bool includeLogs, bool includeConfig, int logLimit) => new(
        configuration.Aggregator.Enabled,
        Format(time.GetUtcNow()),
        includeHealth ? Health() : null,
        includeStats ? Statistics() : null,
        includeStats ? LocalVerification() : null,
        includeLogs ? Logs(logLimit) : null,
        includeConfig ? Config() : null,
        includeStats ? Events() : null);

    public HealthSection Health()
    {
        var routed = table.Current.Routes.Select(static r => r.Upstream).ToHashSet();
        var facilitators = new List<FacilitatorHealth>(table.All.Length);
        int healthy = 0, unhealthy = 0, disabled = 0;
        foreach (var upstream in table.All)
        {
            var state = health.Read(upstream.Id);
            var stats = upstream.Statistics;
            var used = routed.Contains(upstream);
            var reason = upstream.Definition.DisabledReason
                ?? (used ? null : "not used while ENABLE_FACILITATOR_AGGREGATOR=false (only the first enabled upstream is)");
            if (!used)
            {
                disabled++;
            }
            else if (state.IsHealthy)
            {
                healthy++;
            }
            else
            {
                unhealthy++;
            }

            facilitators.Add(new FacilitatorHealth(
                upstream.Id,
                upstream.Definition.Name,
                used,
                reason,
                used && state.IsHealthy,
                state.ConsecutiveFailures,
                stats.Successes,
                stats.Failures,
                Rate(stats.Successes, stats.Failures),
                Math.Round(stats.AverageMilliseconds, 1),
                Format(state.LastSuccessAt),
                Format(state.LastFailureAt),
                state.LastError,
                Format(state.UnhealthySince),
                stats.BecameUnhealthy,
                stats.Recovered,
                CredentialsOf(upstream),
                upstream.CredentialState.Refusals(),
                NetworksOf(upstream)));
        }

        return new HealthSection(facilitators, new HealthSummary(table.All.Length, healthy, unhealthy, disabled));
    }

    /// <summary>
    /// <c>refused</c>, <c>accepted</c> or <c>unverified</c> for an upstream with credentials (an <c>Auth</c>, CDP's key or
    /// headers), or any upstream that refused them; null for one that needs none.
    /// </summary>
    private static string? CredentialsOf(Upstream upstream)
    {
        var status = upstream.CredentialState.Status;
        var configured = upstream.Credentials is not null || upstream.Definition.Headers.Any(static h => h.Length > 0);
        return !configured && status != CredentialStatus.Refused ? null : status switch
        {
            CredentialStatus.Refused => "refused",
            CredentialStatus.Accepted => "accepted",
            _ => "unverified",
        };
    }

    /// <summary>The networks of the kinds the upstream listed in its last <c>/supported</c>; null before it answered one.</summary>
    private static List<string>? NetworksOf(Upstream upstream) =>
        upstream.Capabilities is { } supported
            ? [.. supported.Kinds.Select(static k => k.Network).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]
            : null;

    private StatisticsSection Statistics()
    {
        var facilitators = new List<FacilitatorStatistics>(table.All.Length);
        foreach (var upstream in table.All)
        {
            var stats = upstream.Statistics;
            facilitators.Add(new FacilitatorStatistics(
                upstream.Id,
                new OperationCounts(
                    stats.Operations(FacilitatorOperation.Verify),
                    stats.Operations(FacilitatorOperation.Settle),
                    stats.Operations(FacilitatorOperation.Supported),
                    stats.Operations(FacilitatorOperation.Discovery),
                    stats.TotalOperations),
                new ResultCounts(stats.Successes, stats.Failures, Rate(stats.Successes, stats.Failures)),
                new Performance(
                    Math.Round(stats.AverageMilliseconds, 1),
                    Milliseconds(stats.Latency.Percentile(50)),
                    Milliseconds(stats.Latency.Percentile(95)),
                    Milliseconds(stats.Latency.Percentile(99))),
                new HedgingCounts(stats.HedgesFired, stats.HedgesWon, stats.BudgetRefusals)));
        }

        return new StatisticsSection(facilitators, router.Failovers, limiter.Refusals);
    }

    private EventsSection Events()
    {
        var stats = events.Statistics;
        return new EventsSection(
            events.Enabled,
            eventSettings.Options.Path,
            fanOut.IsShared,
            events.Count,
            stats.Published,
            stats.ReceivedFromOthers,
            stats.Delivered,
            stats.Dropped,
            stats.LaggedClients,
            stats.SlowClosed,
            stats.PublishDropped,
            stats.RelayFailures,
            stats.BadFrames,
            stats.Refused,
            stats.DirectConnections);
    }

    private LocalVerificationReport LocalVerification()
    {
        var stats = local.Statistics;
        var invalid = new Dictionary<string, long>();
        foreach (var check in Enum.GetValues<LocalCheck>())
        {
            if (check != LocalCheck.None && stats.InvalidBy(check) is > 0 and var count)
            {
                invalid[JsonNamingPolicy.CamelCase.ConvertName(check.ToString())] = count;
            }
        }

        var unjudged = new Dictionary<string, long>();
        foreach (var cause in Enum.GetValues<UnjudgedCause>())
        {
            if (cause != UnjudgedCause.None && stats.UnjudgedBy(cause) is > 0 and var count)
            {
                unjudged[JsonNamingPolicy.CamelCase.ConvertName(cause.ToString())] = count;
            }
        }

        return new LocalVerificationReport(
            local.Mode.ToString().ToLowerInvariant(),
            stats.Valid,
            invalid,
            unjudged,
            new ShadowComparison(stats.Agreements, stats.LocalStricter, stats.UpstreamStricter, stats.ReasonMismatches));
    }

    private List<LogEntry> Logs(int limit) =>
    [
        .. operations.Recent(limit).Select(static r => new LogEntry(
            Format(r.Timestamp), r.UpstreamId, r.Operation, r.Success, r.Attempt, r.StatusCode, Math.Round(r.DurationMs, 2), r.Error)),
    ];

    private ConfigSection Config()
    {
        var options = configuration.Aggregator;
        return new ConfigSection(
            options.Enabled,
            options.TimeoutMs,
            options.SettleTimeoutMs,
            options.Retries,
            options.HealthCheck,
            options.HealthCheckIntervalMs,
            options.MaxConsecutiveFailures,
            options.UnhealthyCooldownMs,
            options.Logging,
            options.SupportedCacheMs,
            options.MaxRequestBodyBytes,
            options.OperationLogCapacity,
            new CdpConfig(!string.IsNullOrWhiteSpace(configuration.Cdp.ApiKeyId), configuration.Cdp.IsSecretConfigured),
            [.. table.All.Select(static u => new FacilitatorConfig(
                u.Id,
                u.Definition.Name,
                u.Definition.Origin,
                u.Definition.Priority,
                u.Definition.Enabled,
                u.Definition.DisabledReason,
                (int)u.Definition.Timeout.TotalMilliseconds,
                (int)u.Definition.SettleTimeout.TotalMilliseconds,
                u.Definition.Retries,
                HeaderNames(u.Definition),
                u.Credentials?.Kind))]);
    }

    private static Dictionary<string, List<string>> HeaderNames(UpstreamDefinition definition)
    {
        var names = new Dictionary<string, List<string>>();
        for (var i = 0; i < definition.Headers.Length; i++)
        {
            if (definition.Headers[i].Length > 0)
            {
                names[FacilitatorOperations.Name((FacilitatorOperation)i)] = [.. definition.Headers[i].Select(static h => h.Key)];
            }
        }

        return names;
    }

    /// <summary>"98.64%", "100%", or "0%" before any call, as the seed formats it.</summary>
    internal static string Rate(long successes, long failures)
    {
        var total = successes + failures;
        if (total == 0)
        {
            return "0%";
        }

        var percent = Math.Round(successes * 100.0 / total, 2);
        return percent.ToString(percent % 1 == 0 ? "0" : "0.##", CultureInfo.InvariantCulture) + "%";
    }

    private static double Milliseconds(long microseconds) => Math.Round(microseconds / 1000.0, 2);

    private static string? Format(DateTimeOffset? value) => value is { } v ? Format(v) : null;

    private static string Format(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
