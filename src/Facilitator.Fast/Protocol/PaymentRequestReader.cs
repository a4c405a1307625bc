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
/// still forwarded because the gateway forwards the original bytes.
/// </remarks>
public static class PaymentRequestReader
{
    private const int MaxDepth = 64;

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

        var state = new ReadState();
        int? version = null;
        bool versionInvalid = false, hasPayload = false, hasRequirements = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("x402Version"u8))
            {
                state.Duplicate |= version is not null || versionInvalid;
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v))
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
                var start = (int)reader.TokenStartIndex;
                ReadObject(ref reader, ref state, scope);
                if (scope == Scope.Payload)
                {
                    state.View.PaymentPayloadRange = (start, (int)reader.BytesConsumed - start);
                }
                else
                {
                    state.View.RequirementsRange = (start, (int)reader.BytesConsumed - start);
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
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var payloadVersion))
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
                state.View.Set(captured, Utf8Slice.Of(ref reader));
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
        public PaymentRequestView View;
        public int? PayloadVersion;
        public bool PayloadVersionInvalid;
        public uint SeenFields;
        public bool Duplicate;
    }
}
