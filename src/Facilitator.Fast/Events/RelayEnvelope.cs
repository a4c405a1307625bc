using System.Buffers;
using System.Text;

namespace Facilitator.Fast.Events;

/// <summary>
/// How an event travels to the other instances: a short binary header — version, the publishing instance, the
/// routing facts (channel, network, payee) — before the event's JSON, so a receiver skips its own messages and
/// filters without parsing the JSON, and forwards the very bytes the publisher serialised.
/// </summary>
/// <remarks><c>1 | idLength id | channel | networkLength network | payeeLength payee | json</c>, lengths one byte each.</remarks>
internal static class RelayEnvelope
{
    private const byte Version = 1;
    private const int MaxPart = 255;

    /// <summary>Writes the header; returns its length (where the JSON starts).</summary>
    public static int Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> instanceId, EventChannel channel, string? network, string? payee)
    {
        var networkLength = PartLength(network);
        var payeeLength = PartLength(payee);
        var length = 5 + instanceId.Length + networkLength + payeeLength;
        var span = writer.GetSpan(length);
        var at = 0;
        span[at++] = Version;
        span[at++] = (byte)instanceId.Length;
        instanceId.CopyTo(span[at..]);
        at += instanceId.Length;
        span[at++] = (byte)channel;
        at = WritePart(span, at, network, networkLength);
        at = WritePart(span, at, payee, payeeLength);
        writer.Advance(at);
        return at;
    }

    /// <summary>Reads a message published by an instance; false for anything else (which is dropped).</summary>
    public static bool TryRead(
        ReadOnlySpan<byte> message, out ReadOnlySpan<byte> instanceId, out EventChannel channel, out string? network, out string? payee, out int jsonOffset)
    {
        instanceId = default;
        channel = EventChannel.None;
        network = null;
        payee = null;
        jsonOffset = 0;
        if (message.Length < 6 || message[0] != Version)
        {
            return false;
        }

        var at = 1;
        int idLength = message[at++];
        if (message.Length < at + idLength + 3)
        {
            return false;
        }

        instanceId = message.Slice(at, idLength);
        at += idLength;
        channel = (EventChannel)message[at++];
        if ((channel & ~EventChannels.All) != 0 || channel == EventChannel.None
            || !TryReadPart(message, ref at, out network) || !TryReadPart(message, ref at, out payee) || at >= message.Length)
        {
            return false;
        }

        jsonOffset = at;
        return true;
    }

    /// <summary>A fact too long for its length byte is left out: a client filtering on it then does not get the event.</summary>
    private static int PartLength(string? value) =>
        value is null ? 0 : Encoding.UTF8.GetByteCount(value) is var length and <= MaxPart ? length : 0;

    private static int WritePart(Span<byte> span, int at, string? value, int length)
    {
        span[at++] = (byte)length;
        if (length > 0)
        {
            Encoding.UTF8.GetBytes(value.AsSpan(), span.Slice(at, length));
        }

        return at + length;
    }

    private static bool TryReadPart(ReadOnlySpan<byte> message, ref int at, out string? value)
    {
        value = null;
        if (at >= message.Length)
        {
            return false;
        }

        int length = message[at++];
        if (message.Length < at + length)
        {
            return false;
        }

        value = length == 0 ? null : Encoding.UTF8.GetString(message.Slice(at, length));
        at += length;
        return true;
    }
}
