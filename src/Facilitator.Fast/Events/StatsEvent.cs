using System.Text.Json;

namespace Facilitator.Fast.Events;

/// <summary>
/// Reads what a <c>stats:update</c> says: the seed's <c>FacilitatorStats</c> and the upstream health summary. Defined
/// here, implemented where those figures live, so the event stream depends on neither.
/// </summary>
public interface IStatsEventSource
{
    /// <summary>The event's <c>data</c>: a UTF-8 JSON object; null when the figures cannot be read now (Redis away).</summary>
    ValueTask<byte[]?> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>
/// <c>stats:update</c>: sent by each instance to its own <c>stats</c> subscribers (never relayed: the figures are
/// shared already, and relaying would repeat them once per instance).
/// </summary>
internal sealed class StatsEvent(byte[] data, long timestampMs) : HubEvent(EventChannel.Stats, timestampMs)
{
    public override bool Relayed => false;

    protected override ReadOnlySpan<byte> Type => "stats:update"u8;

    /// <summary>The source's object as it wrote it (it is this service's own JSON).</summary>
    protected override void WriteData(Utf8JsonWriter writer) => writer.WriteRawValue(data, skipInputValidation: true);
}
