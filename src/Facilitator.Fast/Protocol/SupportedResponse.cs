using System.Text.Json;
using System.Text.Json.Serialization;

namespace Facilitator.Fast.Protocol;

/// <summary>The body of <c>GET /supported</c>: what (version, scheme, network) a facilitator settles, v1 and v2 alike.</summary>
public sealed class SupportedResponse
{
    [JsonPropertyName("kinds")]
    public List<SupportedKind> Kinds { get; set; } = [];

    /// <summary>Extension identifiers (v2). Kept as raw JSON values so an unexpected shape does not make a facilitator unreadable.</summary>
    [JsonPropertyName("extensions")]
    public List<JsonElement> Extensions { get; set; } = [];

    /// <summary>Signer addresses per CAIP family, e.g. <c>{"eip155:*": ["0x..."]}</c> (v2).</summary>
    [JsonPropertyName("signers")]
    public Dictionary<string, JsonElement> Signers { get; set; } = [];

    /// <summary>Fields this version does not know (PayAI's <c>batchPolicy</c>, future ones): kept, never dropped.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalFields { get; set; }
}

/// <summary>One supported payment kind.</summary>
public sealed class SupportedKind
{
    [JsonPropertyName("x402Version")]
    public int X402Version { get; set; }

    [JsonPropertyName("scheme")]
    public string Scheme { get; set; } = "";

    [JsonPropertyName("network")]
    public string Network { get; set; } = "";

    [JsonPropertyName("extra")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Extra { get; set; }

    /// <summary>Fields of a kind this version does not know: kept with the kind.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? AdditionalFields { get; set; }
}
