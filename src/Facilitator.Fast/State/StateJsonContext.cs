using System.Text.Json.Serialization;

namespace Facilitator.Fast.State;

/// <summary>A <see cref="RecordedAnswer"/> as stored in Redis.</summary>
internal sealed record RecordedAnswerWire(
    [property: JsonPropertyName("q")] string RequestDigest,
    [property: JsonPropertyName("c")] int StatusCode,
    [property: JsonPropertyName("t")] string? ContentType,
    [property: JsonPropertyName("b")] byte[]? Body,
    [property: JsonPropertyName("e")] string? ExtensionResponses);

/// <summary>Source-generated JSON for what shared state stores in Redis.</summary>
[JsonSourceGenerationOptions(UseStringEnumConverter = false)]
[JsonSerializable(typeof(SettlementRecordWire))]
[JsonSerializable(typeof(RecordedAnswerWire))]
internal sealed partial class StateJsonContext : JsonSerializerContext;
