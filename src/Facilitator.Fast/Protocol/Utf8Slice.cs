using System.Text;
using System.Text.Json;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// Where a JSON string value lies in a request body: offsets into the original bytes instead of a copy, so a
/// request can be inspected without allocating a string per field.
/// </summary>
public readonly record struct Utf8Slice(int Start, int Length, bool IsEscaped)
{
    public bool IsEmpty => Length == 0;

    /// <summary>The raw (possibly escaped) bytes of the value.</summary>
    public ReadOnlySpan<byte> RawIn(ReadOnlySpan<byte> source) => source.Slice(Start, Length);

    /// <summary>The value as a string; allocates, so meant for answers and logs, not for routing decisions.</summary>
    public string? ToString(ReadOnlySpan<byte> source)
    {
        if (Length == 0)
        {
            return null;
        }

        if (!IsEscaped)
        {
            return Encoding.UTF8.GetString(RawIn(source));
        }

        // Re-read the escaped token through the JSON reader, which is the one place that knows JSON escapes.
        Span<byte> quoted = Length + 2 <= 512 ? stackalloc byte[Length + 2] : new byte[Length + 2];
        quoted[0] = (byte)'"';
        RawIn(source).CopyTo(quoted[1..]);
        quoted[^1] = (byte)'"';
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        return reader.GetString();
    }

    /// <summary>
    /// Copies the value, unescaped, into <paramref name="destination"/> without allocating; false when it does not fit.
    /// </summary>
    public bool TryCopyUnescaped(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        if (!IsEscaped)
        {
            written = Length;
            return RawIn(source).TryCopyTo(destination);
        }

        written = 0;
        if (Length + 2 > 512)
        {
            return false;
        }

        Span<byte> quoted = stackalloc byte[Length + 2];
        quoted[0] = (byte)'"';
        RawIn(source).CopyTo(quoted[1..]);
        quoted[^1] = (byte)'"';
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        if (reader.ValueSpan.Length > destination.Length + 8)
        {
            return false;
        }

        try
        {
            written = reader.CopyString(destination);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    internal static Utf8Slice Of(ref Utf8JsonReader reader) =>
        new((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length, reader.ValueIsEscaped);
}
