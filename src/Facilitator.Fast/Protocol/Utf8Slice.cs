using System.Text;
using System.Text.Json;

namespace Facilitator.Fast.Protocol;

/// <summary>What a field of a request body held.</summary>
public enum SliceKind : byte
{
    Absent = 0,
    String,
    Null,

    /// <summary>A number, boolean, object or array where a string was expected.</summary>
    Other,
}

/// <summary>
/// Where a JSON string value lies in a request body: offsets into the original bytes instead of a copy, so a
/// request can be inspected without allocating a string per field.
/// </summary>
public readonly record struct Utf8Slice(int Start, int Length, bool IsEscaped, SliceKind Kind = SliceKind.String)
{
    public static Utf8Slice Null => new(0, 0, false, SliceKind.Null);

    public static Utf8Slice Other => new(0, 0, false, SliceKind.Other);

    public bool IsString => Kind == SliceKind.String;

    public bool IsEmpty => Length == 0;

    /// <summary>The raw (possibly escaped) bytes of the value.</summary>
    public ReadOnlySpan<byte> RawIn(ReadOnlySpan<byte> source) => source.Slice(Start, Length);

    /// <summary>The value as a string; allocates, so meant for answers and logs, not for routing decisions.</summary>
    public string? ToString(ReadOnlySpan<byte> source)
    {
        if (!IsString)
        {
            return null;
        }

        if (!IsEscaped)
        {
            return Encoding.UTF8.GetString(RawIn(source));
        }

        var reader = QuotedReader(source, Length + 2 <= 512 ? stackalloc byte[Length + 2] : new byte[Length + 2]);
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            // An escape that is not valid UTF-16 (a lone surrogate).
            return null;
        }
    }

    /// <summary>
    /// Copies the value, unescaped, into <paramref name="destination"/> without allocating; false when it is not a
    /// string or does not fit.
    /// </summary>
    public bool TryCopyUnescaped(ReadOnlySpan<byte> source, Span<byte> destination, out int written)
    {
        written = 0;
        if (!IsString)
        {
            return false;
        }

        if (!IsEscaped)
        {
            written = Length;
            return RawIn(source).TryCopyTo(destination);
        }

        if (Length + 2 > 512 || Length > destination.Length * 6)
        {
            return false;
        }

        var reader = QuotedReader(source, stackalloc byte[Length + 2]);
        try
        {
            written = reader.CopyString(destination);
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            written = 0;
            return false;
        }
    }

    /// <summary>True when the value is a string equal to <paramref name="other"/>'s string in its own body.</summary>
    public bool ValueEquals(ReadOnlySpan<byte> source, in Utf8Slice other)
    {
        if (!IsString || !other.IsString)
        {
            return false;
        }

        if (!IsEscaped && !other.IsEscaped)
        {
            return RawIn(source).SequenceEqual(other.RawIn(source));
        }

        Span<byte> left = stackalloc byte[256];
        Span<byte> right = stackalloc byte[256];
        return TryCopyUnescaped(source, left, out var leftLength) && other.TryCopyUnescaped(source, right, out var rightLength)
            && left[..leftLength].SequenceEqual(right[..rightLength]);
    }

    /// <summary>True when the value is a string equal to <paramref name="literal"/>.</summary>
    public bool ValueEquals(ReadOnlySpan<byte> source, ReadOnlySpan<byte> literal)
    {
        if (!IsString)
        {
            return false;
        }

        if (!IsEscaped)
        {
            return RawIn(source).SequenceEqual(literal);
        }

        Span<byte> unescaped = stackalloc byte[64];
        return TryCopyUnescaped(source, unescaped, out var written) && unescaped[..written].SequenceEqual(literal);
    }

    private Utf8JsonReader QuotedReader(ReadOnlySpan<byte> source, Span<byte> quoted)
    {
        quoted[0] = (byte)'"';
        RawIn(source).CopyTo(quoted[1..]);
        quoted[^1] = (byte)'"';
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        return reader;
    }

    /// <summary>The slice of the reader's current value; <paramref name="origin"/> is where the reader's bytes begin in the source.</summary>
    internal static Utf8Slice Of(ref Utf8JsonReader reader, int origin = 0) => reader.TokenType switch
    {
        JsonTokenType.String => new(origin + (int)reader.TokenStartIndex + 1, reader.ValueSpan.Length, reader.ValueIsEscaped),
        JsonTokenType.Null => Null,
        _ => Other,
    };
}
