using System.Text.Json.Serialization;

namespace Facilitator.Fast.State;

/// <summary>A <see cref="SettlementRecord"/> as stored in Redis (short names: one per authorization, many of them).</summary>
internal sealed record SettlementRecordWire(
    [property: JsonPropertyName("s")] SettlementState State,
    [property: JsonPropertyName("u")] string? UpstreamId,
    [property: JsonPropertyName("c")] int StatusCode,
    [property: JsonPropertyName("t")] string? ContentType,
    [property: JsonPropertyName("b")] byte[]? Body,
    [property: JsonPropertyName("at")] long SinceTicks,
    [property: JsonPropertyName("i")] string Instance,
    [property: JsonPropertyName("k")] string? ClaimId)
{
    public SettlementRecord ToRecord() => new(State, UpstreamId, StatusCode, ContentType, Body, new DateTimeOffset(SinceTicks, TimeSpan.Zero), ClaimId);

    public static SettlementRecordWire From(SettlementRecord record, string instance) =>
        new(record.State, record.UpstreamId, record.StatusCode, record.ContentType, record.Body, record.Since.UtcTicks, instance, record.ClaimId);
}

/// <summary>Source-generated JSON for what shared state stores in Redis.</summary>
[JsonSourceGenerationOptions(UseStringEnumConverter = false)]
[JsonSerializable(typeof(SettlementRecordWire))]
internal sealed partial class StateJsonContext : JsonSerializerContext;
