using System.Text.Json;

namespace Facilitator.Fast.Events;

/// <summary>The seed's channels a client subscribes to; a subscription is a set of them.</summary>
[Flags]
public enum EventChannel : byte
{
    None = 0,
    Payments = 1,
    Stats = 2,
    Errors = 4,
}

/// <summary>Channel names as the protocol writes them.</summary>
public static class EventChannels
{
    public const EventChannel All = EventChannel.Payments | EventChannel.Stats | EventChannel.Errors;

    /// <summary>Reads a channel name at the reader's string token (escapes allowed).</summary>
    public static bool TryRead(ref Utf8JsonReader reader, out EventChannel channel)
    {
        channel = reader.ValueTextEquals("payments"u8) ? EventChannel.Payments
            : reader.ValueTextEquals("stats"u8) ? EventChannel.Stats
            : reader.ValueTextEquals("errors"u8) ? EventChannel.Errors
            : EventChannel.None;
        return channel != EventChannel.None;
    }

    /// <summary>Writes the set as an array of names, in a fixed order.</summary>
    public static void WriteArray(Utf8JsonWriter writer, ReadOnlySpan<byte> property, EventChannel channels)
    {
        writer.WriteStartArray(property);
        if ((channels & EventChannel.Payments) != 0)
        {
            writer.WriteStringValue("payments"u8);
        }

        if ((channels & EventChannel.Stats) != 0)
        {
            writer.WriteStringValue("stats"u8);
        }

        if ((channels & EventChannel.Errors) != 0)
        {
            writer.WriteStringValue("errors"u8);
        }

        writer.WriteEndArray();
    }
}
