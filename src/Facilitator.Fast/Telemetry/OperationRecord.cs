namespace Facilitator.Fast.Telemetry;

/// <summary>One upstream call as the status API's <c>logs</c> shows it.</summary>
public readonly record struct OperationRecord(
    DateTimeOffset Timestamp,
    string UpstreamId,
    string Operation,
    bool Success,
    int Attempt,
    int? StatusCode,
    double DurationMs,
    string? Error);
