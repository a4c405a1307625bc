using Facilitator.Fast.Routing;

namespace Facilitator.Fast.Telemetry;

/// <summary>What the service says once at start: the upstreams it routes to and where its state lives. No secrets.</summary>
internal static partial class StartupLog
{
    public static void Routing(ILogger logger, RoutingConfiguration configuration, bool sharedState)
    {
        AggregatorMode(logger, configuration.Aggregator.Enabled ? "priority failover across enabled upstreams" : "single upstream (ENABLE_FACILITATOR_AGGREGATOR=false)");
        foreach (var upstream in configuration.Upstreams)
        {
            if (upstream.Enabled)
            {
                UpstreamEnabled(logger, upstream.Priority, upstream.Id, upstream.Origin, (int)upstream.Timeout.TotalMilliseconds, upstream.Retries);
            }
            else
            {
                UpstreamDisabled(logger, upstream.Id, upstream.DisabledReason ?? "disabled");
            }
        }

        if (sharedState)
        {
            RedisState(logger);
        }
        else
        {
            InMemoryState(logger);
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Routing mode: {Mode}")]
    private static partial void AggregatorMode(ILogger logger, string mode);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Upstream {Priority}. {UpstreamId} at {Url} (timeout {TimeoutMs} ms, {Retries} retries)")]
    private static partial void UpstreamEnabled(ILogger logger, int priority, string upstreamId, string url, int timeoutMs, int retries);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Upstream {UpstreamId} is not used: {Reason}")]
    private static partial void UpstreamDisabled(ILogger logger, string upstreamId, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "State is in memory: health, settlement records, payment records (/v1) and statistics are per instance and are lost on restart; set REDIS_URL to keep them")]
    private static partial void InMemoryState(ILogger logger);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "State is shared through Redis: health, settlement and payment records, analytics; operational statistics stay per instance")]
    private static partial void RedisState(ILogger logger);
}
