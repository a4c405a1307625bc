using System.Text.Json;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// Reads a <c>{x402Version, paymentPayload, paymentRequirements}</c> body in a single forward pass with
/// <see cref="Utf8JsonReader"/>, without building a document or copying strings.
/// </summary>
/// <remarks>
/// The reader validates the whole body as JSON (so malformed input never reaches an upstream), rejects duplicate
/// keys among the fields it reads (two readers of the same bytes must not see two different payments), and skips
/// everything it does not model; unknown fields are still forwarded because the gateway forwards the original bytes.
/// </remarks>
public static class PaymentRequestReader
{
    private const int MaxDepth = 64;

    public static PaymentRequestError TryRead(ReadOnlySpan<byte> body, out PaymentRequestView view)
    {
        view = default;
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return PaymentRequestError.MalformedJson;
        }

        try
        {
            return Read(body, out view);
        }
        catch (JsonException)
        {
            return PaymentRequestError.MalformedJson;
        }
    }

    /// <summary>A one-line description of <paramref name="error"/> for <c>invalidMessage</c>/<c>errorMessage</c>.</summary>
    public static string Describe(PaymentRequestError error) => error switch
    {
        PaymentRequestError.MalformedJson => "The request body is not valid UTF-8 JSON.",
        PaymentRequestError.NotAnObject => "The request body must be a JSON object.",
        PaymentRequestError.MissingVersion => "The request body must have a numeric x402Version.",
        PaymentRequestError.UnsupportedVersion => "x402Version must be 1 or 2.",
        PaymentRequestError.MissingPaymentPayload => "The request body must have a paymentPayload object.",
        PaymentRequestError.MissingPaymentRequirements => "The request body must have a paymentRequirements object.",
        PaymentRequestError.DuplicateField => "The request body repeats a field; each field may appear once.",
        _ => "The request is valid.",
    };

    private static PaymentRequestError Read(ReadOnlySpan<byte> body, out PaymentRequestView view)
    {
        view = default;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth });
        if (!reader.Read())
        {
            return PaymentRequestError.MalformedJson;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            EnsureEnd(ref reader);
            return PaymentRequestError.NotAnObject;
        }

        int? version = null;
        bool versionIsInvalid = false, hasPayload = false, hasRequirements = false;
        Utf8Slice scheme = default, network = default, payer = default;
        var duplicate = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("x402Version"u8))
            {
                duplicate |= version is not null || versionIsInvalid;
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v))
                {
                    version = v;
                }
                else
                {
                    versionIsInvalid = true;
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("paymentPayload"u8))
            {
                duplicate |= hasPayload;
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    hasPayload = true;
                    duplicate |= !ReadPayload(ref reader, ref payer);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("paymentRequirements"u8))
            {
                duplicate |= hasRequirements;
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    hasRequirements = true;
                    duplicate |= !ReadRequirements(ref reader, ref scheme, ref network);
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        EnsureEnd(ref reader);

        if (duplicate)
        {
            return PaymentRequestError.DuplicateField;
        }

        if (version is null)
        {
            return versionIsInvalid ? PaymentRequestError.UnsupportedVersion : PaymentRequestError.MissingVersion;
        }

        if (version is not (1 or 2))
        {
            return PaymentRequestError.UnsupportedVersion;
        }

        if (!hasPayload)
        {
            return PaymentRequestError.MissingPaymentPayload;
        }

        if (!hasRequirements)
        {
            return PaymentRequestError.MissingPaymentRequirements;
        }

        view = new PaymentRequestView(version.Value, scheme, network, payer);
        return PaymentRequestError.None;
    }

    /// <summary>Reads <c>paymentPayload</c>; returns false when a field it reads is repeated.</summary>
    private static bool ReadPayload(ref Utf8JsonReader reader, ref Utf8Slice payer)
    {
        var unique = true;
        var seenPayload = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("payload"u8))
            {
                unique &= !seenPayload;
                seenPayload = true;
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    unique &= ReadInnerPayload(ref reader, ref payer);
                    continue;
                }
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        return unique;
    }

    private static bool ReadInnerPayload(ref Utf8JsonReader reader, ref Utf8Slice payer)
    {
        var unique = true;
        var seenAuthorization = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("authorization"u8))
            {
                unique &= !seenAuthorization;
                seenAuthorization = true;
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    unique &= ReadStringField(ref reader, "from"u8, ref payer);
                    continue;
                }
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        return unique;
    }

    private static bool ReadRequirements(ref Utf8JsonReader reader, ref Utf8Slice scheme, ref Utf8Slice network)
    {
        var unique = true;
        bool seenScheme = false, seenNetwork = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("scheme"u8))
            {
                unique &= !seenScheme;
                seenScheme = true;
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    scheme = Utf8Slice.Of(ref reader);
                    continue;
                }
            }
            else if (reader.ValueTextEquals("network"u8))
            {
                unique &= !seenNetwork;
                seenNetwork = true;
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    network = Utf8Slice.Of(ref reader);
                    continue;
                }
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        return unique;
    }

    /// <summary>Reads the object the reader is in, capturing the string property <paramref name="name"/>.</summary>
    private static bool ReadStringField(ref Utf8JsonReader reader, ReadOnlySpan<byte> name, ref Utf8Slice value)
    {
        var unique = true;
        var seen = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var matches = reader.ValueTextEquals(name);
            reader.Read();
            if (matches)
            {
                unique &= !seen;
                seen = true;
                if (reader.TokenType == JsonTokenType.String)
                {
                    value = Utf8Slice.Of(ref reader);
                    continue;
                }
            }

            reader.Skip();
        }

        return unique;
    }

    /// <summary>Throws <see cref="JsonException"/> when anything but whitespace follows the top-level value.</summary>
    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("Unexpected content after the top-level value.");
        }
    }
}
