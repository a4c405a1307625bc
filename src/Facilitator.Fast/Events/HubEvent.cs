using System.Text.Json;

namespace Facilitator.Fast.Events;

/// <summary>
/// An event waiting to be fanned out: what it is (<c>type</c>, <c>data</c>), when, to which channel, and the routing
/// facts subscribers filter on. The hub's pump serialises it once as <c>{"type","data","timestamp"}</c>.
/// </summary>
internal abstract class HubEvent(EventChannel channel, long timestampMs)
{
    public EventChannel Channel { get; } = channel;

    /// <summary>Unix milliseconds when it happened.</summary>
    public long TimestampMs { get; } = timestampMs;

    /// <summary>
    /// Whether the other instances are sent it: true for what only this instance saw (a payment it handled, a failure it
    /// had); false for what every instance sees by itself (a health transition) or reports for itself (stats).
    /// </summary>
    public abstract bool Relayed { get; }

    /// <summary>The CAIP-2 network, for payment events.</summary>
    public virtual string? Network => null;

    /// <summary>The payee in lower case, for payment events.</summary>
    public virtual string? Payee => null;

    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, Type);
        writer.WritePropertyName("data"u8);
        WriteData(writer);
        writer.WriteNumber("timestamp"u8, TimestampMs);
        writer.WriteEndObject();
    }

    protected abstract ReadOnlySpan<byte> Type { get; }

    /// <summary>Writes the value of <c>data</c> (an object).</summary>
    protected abstract void WriteData(Utf8JsonWriter writer);
}
