using System.Text.Json;

namespace Facilitator.Fast.Protocol;

/// <summary>What <see cref="PaymentIdentifier.TryRead"/> found wrong with a payment's <c>payment-identifier</c> extension.</summary>
public enum PaymentIdentifierError : byte
{
    None,

    /// <summary>The extension's <c>info.id</c> is not 16–128 letters, digits, <c>-</c> or <c>_</c>, or is given twice.</summary>
    Malformed,

    /// <summary><c>info.required</c> is true and there is no <c>info.id</c>.</summary>
    Missing,
}

/// <summary>
/// The <c>payment-identifier</c> extension of x402 v2 (<c>paymentPayload.extensions["payment-identifier"].info.id</c>):
/// the client's idempotency key for one payment request.
/// </summary>
public static class PaymentIdentifier
{
    public const string ExtensionName = "payment-identifier";
    public const int MinLength = 16;
    public const int MaxLength = 128;

    /// <summary>Reads the identifier from the <c>paymentPayload</c> object's bytes; null when the payment carries none.</summary>
    public static PaymentIdentifierError TryRead(ReadOnlySpan<byte> paymentPayload, out string? id)
    {
        id = null;

        // The extension's name, unless written with escapes (which need a backslash), is in the bytes: most payments
        // carry neither, and are done with two vectorised searches instead of a second parse.
        if (paymentPayload.IsEmpty || (paymentPayload.IndexOf("payment-identifier"u8) < 0 && !paymentPayload.Contains((byte)'\\')))
        {
            return PaymentIdentifierError.None;
        }

        // As deep as the request reader reads, so a body it accepted is never one whose identifier goes unread.
        var reader = new Utf8JsonReader(paymentPayload, new JsonReaderOptions { MaxDepth = PaymentRequestReader.MaxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return PaymentIdentifierError.None;
            }

            foreach (var name in Path)
            {
                switch (Descend(ref reader, name))
                {
                    case Found.No:
                        return PaymentIdentifierError.None;
                    case Found.Twice:
                        // A parser that takes the last copy would read another id than this one: refused, as repeated
                        // fields are on the payment's own paths.
                        return PaymentIdentifierError.Malformed;
                }
            }

            return ReadInfo(ref reader, out id);
        }
        catch (JsonException)
        {
            return PaymentIdentifierError.None;
        }
    }

    /// <summary>Whether <paramref name="id"/> is 16–128 of <c>[A-Za-z0-9_-]</c>, as the extension requires.</summary>
    public static bool IsValid(ReadOnlySpan<char> id)
    {
        if (id.Length is < MinLength or > MaxLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static readonly byte[][] Path = ["extensions"u8.ToArray(), "payment-identifier"u8.ToArray(), "info"u8.ToArray()];

    private enum Found : byte
    {
        No,
        Once,
        Twice,
    }

    /// <summary>
    /// Moves from the start of an object to the start of its member <paramref name="name"/>'s object value, reading the
    /// whole object so that a second member of that name is seen.
    /// </summary>
    private static Found Descend(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        var found = false;
        Utf8JsonReader start = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            reader.Read();
            if (match)
            {
                if (found)
                {
                    return Found.Twice;
                }

                found = true;
                start = reader;
            }

            reader.Skip();
        }

        if (!found || start.TokenType != JsonTokenType.StartObject)
        {
            return Found.No;
        }

        reader = start;
        return Found.Once;
    }

    private static PaymentIdentifierError ReadInfo(ref Utf8JsonReader reader, out string? id)
    {
        id = null;
        var required = false;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                if (++seen > 1 || reader.TokenType != JsonTokenType.String || reader.ValueSpan.Length > MaxLength * 6)
                {
                    return PaymentIdentifierError.Malformed;
                }

                id = reader.GetString();
                if (!IsValid(id))
                {
                    id = null;
                    return PaymentIdentifierError.Malformed;
                }

                continue;
            }

            var isRequired = reader.ValueTextEquals("required"u8);
            reader.Read();
            if (isRequired)
            {
                required = reader.TokenType == JsonTokenType.True;
            }

            reader.Skip();
        }

        return id is null && required ? PaymentIdentifierError.Missing : PaymentIdentifierError.None;
    }
}
