namespace Facilitator.Fast.State;

/// <summary>A copy of one upstream's health at a moment, for the status API and health endpoints.</summary>
public sealed record UpstreamHealth(
    string UpstreamId,
    bool IsHealthy,
    int ConsecutiveFailures,
    DateTimeOffset? LastSuccessAt,
    DateTimeOffset? LastFailureAt,
    string? LastError,
    DateTimeOffset? UnhealthySince);
