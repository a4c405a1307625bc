using System.Text.Json;

namespace Facilitator.Fast.Api;

internal enum V1RequestShapeKind : byte
{
    Unknown,

    /// <summary><c>{x402Version, paymentPayload, paymentRequirements}</c>, as <c>/verify</c> takes it.</summary>
    X402,

    /// <summary>The seed's <c>{proof, requirements}</c>.</summary>
    Seed,
}

/// <summary>Which of the two shapes a <c>/v1/verify</c> body is, by its top-level members.</summary>
internal static class V1RequestShape
{
    public static V1RequestShapeKind Of(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return V1RequestShapeKind.Unknown;
            }

            var x402 = false;
            var seed = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                x402 |= reader.ValueTextEquals("x402Version"u8);
                seed |= reader.ValueTextEquals("proof"u8);
                reader.Read();
                reader.Skip();
            }

            return x402 == seed ? V1RequestShapeKind.Unknown : x402 ? V1RequestShapeKind.X402 : V1RequestShapeKind.Seed;
        }
        catch (JsonException)
        {
            return V1RequestShapeKind.Unknown;
        }
    }
}
