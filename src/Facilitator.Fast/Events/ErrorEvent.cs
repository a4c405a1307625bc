using System.Text.Json;

namespace Facilitator.Fast.Events;

public enum ErrorEventKind : byte
{
    /// <summary>An upstream was marked unhealthy (every instance sees the transition and tells its own subscribers).</summary>
    FacilitatorUnhealthy = 0,

    /// <summary>It became healthy again.</summary>
    FacilitatorRecovered,

    /// <summary>Attempts at an upstream failed (counted against its health) on this instance since the last report.</summary>
    FacilitatorFailures,

    /// <summary>Operations on this instance fell back to local state because Redis could not be reached.</summary>
    RedisFallback,
}

/// <summary>An event of the <c>errors</c> channel: upstream failures, health transitions and Redis fallbacks.</summary>
internal sealed class ErrorEvent(
    ErrorEventKind kind, long timestampMs, string? facilitatorId = null, long count = 0, long total = 0, int consecutiveFailures = 0,
    string? error = null, string? instanceId = null)
    : HubEvent(EventChannel.Errors, timestampMs)
{
    public override bool Relayed => kind is ErrorEventKind.FacilitatorFailures or ErrorEventKind.RedisFallback;

    protected override ReadOnlySpan<byte> Type => kind switch
    {
        ErrorEventKind.FacilitatorUnhealthy => "facilitator:unhealthy"u8,
        ErrorEventKind.FacilitatorRecovered => "facilitator:recovered"u8,
        ErrorEventKind.FacilitatorFailures => "facilitator:failures"u8,
        _ => "redis:fallback"u8,
    };

    protected override void WriteData(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        if (facilitatorId is not null)
        {
            writer.WriteString("facilitatorId"u8, facilitatorId);
        }

        switch (kind)
        {
            case ErrorEventKind.FacilitatorUnhealthy:
                writer.WriteNumber("consecutiveFailures"u8, consecutiveFailures);
                writer.WriteString("error"u8, error);
                break;
            case ErrorEventKind.FacilitatorFailures:
                writer.WriteNumber("failures"u8, count);
                writer.WriteNumber("total"u8, total);
                writer.WriteNumber("consecutiveFailures"u8, consecutiveFailures);
                writer.WriteString("error"u8, error);
                break;
            case ErrorEventKind.RedisFallback:
                writer.WriteNumber("fallbacks"u8, count);
                writer.WriteNumber("total"u8, total);
                break;
        }

        if (instanceId is not null)
        {
            writer.WriteString("instanceId"u8, instanceId);
        }

        writer.WriteNumber("timestamp"u8, TimestampMs);
        writer.WriteEndObject();
    }
}
