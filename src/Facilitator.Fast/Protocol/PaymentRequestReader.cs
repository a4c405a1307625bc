using System.Text.Json;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// Reads a <c>{x402Version, paymentPayload, paymentRequirements}</c> body in a single forward pass with
/// <see cref="Utf8JsonReader"/>, without building a document or copying strings.
/// </summary>
/// <remarks>
/// The reader validates the whole body as UTF-8 JSON (so malformed input never reaches an upstream), captures the
/// fields of <see cref="PaymentField"/> as slices, rejects a repeated key anywhere along those fields' paths (two
/// parsers of the same bytes must not see two different payments), and skips everything else; unknown fields are
/// still forwarded because the gateway forwards the original bytes. A UTF-8 byte-order mark before the JSON is skipped
/// (RFC 8259 §8.1 lets a parser ignore it); slices and ranges stay offsets into the body as received.
/// </remarks>
public static class PaymentRequestReader
{
    /// <summary>
    /// The deepest nesting a body may have anywhere, fields the gateway does not read included: 127, the deepest that
    /// serde_json (x402-rs) reads, so every body the gateway passes on is one each reference facilitator can parse.
    /// </summary>
    /// <remarks>
    /// The bound does not protect the gateway's own reading: <see cref="Utf8JsonReader"/> is iterative and keeps one bit
    /// per level (no allocation up to 64 levels), and the body's size is bounded before it is read. It protects the
    /// upstreams and the gateway's view of them: past it parsers fail (serde_json refuses, recursive parsers such as
    /// Python's overflow into a 5xx that would count against an upstream's health), so such a body is refused here.
    /// </remarks>
    internal const int MaxDepth = 127;

    private static ReadOnlySpan<byte> ByteOrderMark => [0xEF, 0xBB, 0xBF];

    /// <summary>The objects along the paths of the captured fields.</summary>
    private enum Scope : byte
    {
        Root,
        Payload,
        Accepted,
        InnerPayload,
        Authorization,
        Requirements,
        Extra,
    }

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
            view = default;
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
        PaymentRequestError.PayloadVersionMismatch => "paymentPayload.x402Version must be a number equal to x402Version.",
        PaymentRequestError.MissingPaymentPayload => "The request body must have a paymentPayload object.",
        PaymentRequestError.MissingPaymentRequirements => "The request body must have a paymentRequirements object.",
        PaymentRequestError.DuplicateField => "The request body repeats a field; each field may appear once.",
        _ => "The request is valid.",
    };

    private static PaymentRequestError Read(ReadOnlySpan<byte> body, out PaymentRequestView view)
    {
        view = default;
        var origin = body.StartsWith(ByteOrderMark) ? ByteOrderMark.Length : 0;
        var reader = new Utf8JsonReader(body[origin..], new JsonReaderOptions { MaxDepth = MaxDepth });
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

        var state = new ReadState { Origin = origin };
        int? version = null;
        bool versionInvalid = false, hasPayload = false, hasRequirements = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("x402Version"u8))
            {
                state.Duplicate |= version is not null || versionInvalid;
                reader.Read();
                if (TryReadVersion(ref reader, out var v))
                {
                    version = v;
                }
                else
                {
                    versionInvalid = true;
                    reader.Skip();
                }

                continue;
            }

            var scope = reader.ValueTextEquals("paymentPayload"u8) ? Scope.Payload
                : reader.ValueTextEquals("paymentRequirements"u8) ? Scope.Requirements
                : Scope.Root;
            reader.Read();
            if (scope == Scope.Root)
            {
                reader.Skip();
                continue;
            }

            ref var seen = ref scope == Scope.Payload ? ref hasPayload : ref hasRequirements;
            state.Duplicate |= seen;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                seen = true;
                var start = origin + (int)reader.TokenStartIndex;
                ReadObject(ref reader, ref state, scope);
                var length = origin + (int)reader.BytesConsumed - start;
                if (scope == Scope.Payload)
                {
                    state.View.PaymentPayloadRange = (start, length);
                }
                else
                {
                    state.View.RequirementsRange = (start, length);
                }
            }
            else
            {
                reader.Skip();
            }
        }

        EnsureEnd(ref reader);

        if (state.Duplicate)
        {
            return PaymentRequestError.DuplicateField;
        }

        if (version is null)
        {
            return versionInvalid ? PaymentRequestError.UnsupportedVersion : PaymentRequestError.MissingVersion;
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

        if (state.PayloadVersionInvalid || (state.PayloadVersion is { } payloadVersion && payloadVersion != version))
        {
            return PaymentRequestError.PayloadVersionMismatch;
        }

        view = state.View;
        view.Version = version.Value;
        return PaymentRequestError.None;
    }

    /// <summary>Reads the object the reader has just entered, capturing the fields and descending into the scopes of <paramref name="scope"/>.</summary>
    private static void ReadObject(ref Utf8JsonReader reader, ref ReadState state, Scope scope)
    {
        var seenChildren = 0u;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (scope == Scope.Payload && reader.ValueTextEquals("x402Version"u8))
            {
                state.Duplicate |= state.PayloadVersion is not null || state.PayloadVersionInvalid;
                reader.Read();
                if (TryReadVersion(ref reader, out var payloadVersion))
                {
                    state.PayloadVersion = payloadVersion;
                }
                else
                {
                    state.PayloadVersionInvalid = true;
                    reader.Skip();
                }

                continue;
            }

            var (field, child) = Match(ref reader, scope);
            reader.Read();
            if (field is { } captured)
            {
                var bit = 1u << (int)captured;
                state.Duplicate |= (state.SeenFields & bit) != 0;
                state.SeenFields |= bit;
                state.View.Set(captured, Utf8Slice.Of(ref reader, state.Origin));
                reader.Skip();
                continue;
            }

            if (child != Scope.Root)
            {
                var bit = 1u << (int)child;
                state.Duplicate |= (seenChildren & bit) != 0;
                seenChildren |= bit;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadObject(ref reader, ref state, child);
                    continue;
                }
            }

            reader.Skip();
        }
    }

    private static (PaymentField? Field, Scope Child) Match(ref Utf8JsonReader reader, Scope scope)
    {
        switch (scope)
        {
            case Scope.Requirements:
                if (reader.ValueTextEquals("scheme"u8)) return (PaymentField.RequirementsScheme, Scope.Root);
                if (reader.ValueTextEquals("network"u8)) return (PaymentField.RequirementsNetwork, Scope.Root);
                if (reader.ValueTextEquals("maxAmountRequired"u8)) return (PaymentField.RequirementsMaxAmountRequired, Scope.Root);
                if (reader.ValueTextEquals("amount"u8)) return (PaymentField.RequirementsAmount, Scope.Root);
                if (reader.ValueTextEquals("payTo"u8)) return (PaymentField.RequirementsPayTo, Scope.Root);
                if (reader.ValueTextEquals("asset"u8)) return (PaymentField.RequirementsAsset, Scope.Root);
                if (reader.ValueTextEquals("extra"u8)) return (null, Scope.Extra);
                break;
            case Scope.Extra:
                if (reader.ValueTextEquals("name"u8)) return (PaymentField.RequirementsExtraName, Scope.Root);
                if (reader.ValueTextEquals("version"u8)) return (PaymentField.RequirementsExtraVersion, Scope.Root);
                if (reader.ValueTextEquals("feePayer"u8)) return (PaymentField.RequirementsExtraFeePayer, Scope.Root);
                if (reader.ValueTextEquals("facilitatorAddress"u8)) return (PaymentField.RequirementsExtraFacilitatorAddress, Scope.Root);
                if (reader.ValueTextEquals("receiverAuthorizer"u8)) return (PaymentField.RequirementsExtraReceiverAuthorizer, Scope.Root);
                break;
            case Scope.Payload:
                if (reader.ValueTextEquals("scheme"u8)) return (PaymentField.PayloadScheme, Scope.Root);
                if (reader.ValueTextEquals("network"u8)) return (PaymentField.PayloadNetwork, Scope.Root);
                if (reader.ValueTextEquals("accepted"u8)) return (null, Scope.Accepted);
                if (reader.ValueTextEquals("payload"u8)) return (null, Scope.InnerPayload);
                break;
            case Scope.Accepted:
                if (reader.ValueTextEquals("scheme"u8)) return (PaymentField.AcceptedScheme, Scope.Root);
                if (reader.ValueTextEquals("network"u8)) return (PaymentField.AcceptedNetwork, Scope.Root);
                break;
            case Scope.InnerPayload:
                if (reader.ValueTextEquals("signature"u8)) return (PaymentField.Signature, Scope.Root);
                if (reader.ValueTextEquals("permit2Authorization"u8)) return (PaymentField.Permit2Authorization, Scope.Root);
                if (reader.ValueTextEquals("authorization"u8)) return (null, Scope.Authorization);
                break;
            case Scope.Authorization:
                if (reader.ValueTextEquals("from"u8)) return (PaymentField.From, Scope.Root);
                if (reader.ValueTextEquals("to"u8)) return (PaymentField.To, Scope.Root);
                if (reader.ValueTextEquals("value"u8)) return (PaymentField.Value, Scope.Root);
                if (reader.ValueTextEquals("validAfter"u8)) return (PaymentField.ValidAfter, Scope.Root);
                if (reader.ValueTextEquals("validBefore"u8)) return (PaymentField.ValidBefore, Scope.Root);
                if (reader.ValueTextEquals("nonce"u8)) return (PaymentField.Nonce, Scope.Root);
                break;
        }

        return (null, Scope.Root);
    }

    /// <summary>
    /// Reads a version as the number JSON writes: <c>1</c>, <c>1.0</c> and <c>1e0</c> are one number, as JavaScript's
    /// <c>JSON.parse</c> (the official facilitators') reads them; false for anything but a whole number.
    /// </summary>
    private static bool TryReadVersion(ref Utf8JsonReader reader, out int version)
    {
        version = 0;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var number)
            || number != Math.Floor(number) || number is < int.MinValue or > int.MaxValue)
        {
            return false;
        }

        version = (int)number;
        return true;
    }

    /// <summary>Throws <see cref="JsonException"/> when anything but whitespace follows the top-level value.</summary>
    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("Unexpected content after the top-level value.");
        }
    }

    private struct ReadState
    {
        /// <summary>Where the JSON begins in the body: after a byte-order mark, if any.</summary>
        public int Origin;
        public PaymentRequestView View;
        public int? PayloadVersion;
        public bool PayloadVersionInvalid;
        public uint SeenFields;
        public bool Duplicate;
    }
}
