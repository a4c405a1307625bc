using System.Text.Json.Serialization;

namespace Facilitator.Fast.Protocol;

/// <summary>Source-generated JSON for the x402 wire types the gateway reads or writes as objects (no reflection, AOT-safe).</summary>
[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = false,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow,
    MaxDepth = 64)]
[JsonSerializable(typeof(SupportedResponse))]
[JsonSerializable(typeof(Dictionary<string, Dictionary<string, System.Text.Json.JsonElement>>))]
public sealed partial class X402JsonContext : JsonSerializerContext;
