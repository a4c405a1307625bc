namespace Facilitator.Fast.Routing;

/// <summary>Routing's log events. Ids are stable: operators alert on them. No secret is ever a parameter.</summary>
internal static partial class RoutingLog
{
    [LoggerMessage(EventId = 1000, Message = "[Facilitator] {Operation} answered by {UpstreamId} (HTTP {StatusCode}) in {ElapsedMs:0.0} ms, attempt {Attempt}")]
    public static partial void Answered(ILogger logger, LogLevel level, string operation, string upstreamId, int statusCode, double elapsedMs, int attempt);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "[Facilitator] {Operation} attempt {Attempt} on {UpstreamId} failed: {Failure}")]
    public static partial void AttemptFailed(ILogger logger, string operation, int attempt, string upstreamId, string failure);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "[Facilitator] {Operation} attempt {Attempt} on {UpstreamId} declined: {Reason} (not counted against its health)")]
    public static partial void AttemptDeclined(ILogger logger, string operation, int attempt, string upstreamId, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "[Facilitator] {Operation} failed on every upstream: {Summary}")]
    public static partial void AllFailed(ILogger logger, string operation, string summary);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Error, Message = "[Facilitator] No healthy facilitators available for {Operation}")]
    public static partial void NoneEligible(ILogger logger, string operation);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "[Facilitator] settle on {UpstreamId} has an unknown outcome ({Failure}); answered settlement_pending and will not send it elsewhere")]
    public static partial void SettlementPending(ILogger logger, string upstreamId, string failure);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "[Facilitator] {UpstreamId} marked unhealthy ({Failures} consecutive failures seen by this instance); last: {Failure}")]
    public static partial void MarkedUnhealthy(ILogger logger, string upstreamId, int failures, string failure);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "[Facilitator] {UpstreamId} is healthy again")]
    public static partial void MarkedHealthy(ILogger logger, string upstreamId);

    [LoggerMessage(EventId = 1030, Level = LogLevel.Error, Message = "[Facilitator] {UpstreamId} refuses the gateway's credentials for {Operation} ({Refusal}): the gateway is misconfigured for it (key, key id, clock or URL); calls fail over meanwhile, and this is logged again only when it changes")]
    public static partial void CredentialsRefused(ILogger logger, string upstreamId, string operation, string refusal);

    [LoggerMessage(EventId = 1031, Level = LogLevel.Information, Message = "[Facilitator] {UpstreamId} accepts the gateway's credentials for {Operation} again")]
    public static partial void CredentialsAccepted(ILogger logger, string upstreamId, string operation);

    [LoggerMessage(EventId = 1032, Level = LogLevel.Debug, Message = "[Facilitator] {Operation} attempt {Attempt} on {UpstreamId}: credentials still refused")]
    public static partial void CredentialsStillRefused(ILogger logger, string operation, int attempt, string upstreamId);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Information, Message = "[Facilitator] capabilities of {UpstreamId} learned from another instance ({Kinds} kinds)")]
    public static partial void CapabilitiesLearned(ILogger logger, string upstreamId, int kinds);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Warning, Message = "[Facilitator] /supported could not be read from {UpstreamId}: {Failure}")]
    public static partial void SupportedUnavailable(ILogger logger, string upstreamId, string failure);
}
