using System.Text.Json.Serialization;

namespace Facilitator.Fast.State;

/// <summary>A <see cref="SettlementRecord"/> as stored in Redis (short names: one per authorization, many of them).</summary>
internal sealed record SettlementRecordWire(
    [property: JsonPropertyName("s")] SettlementState State,
    [property: JsonPropertyName("f")] string Fingerprint,
    [property: JsonPropertyName("v")] bool Verified,
    [property: JsonPropertyName("u")] string? UpstreamId,
    [property: JsonPropertyName("k")] string? ClaimId,
    [property: JsonPropertyName("l")] long LeaseUntilMs,
    [property: JsonPropertyName("r")] bool Retry,
    [property: JsonPropertyName("ok")] bool Success,
    [property: JsonPropertyName("c")] int StatusCode,
    [property: JsonPropertyName("t")] string? ContentType,
    [property: JsonPropertyName("b")] byte[]? Body,
    [property: JsonPropertyName("at")] long SinceMs,
    [property: JsonPropertyName("q")] string RequestDigest,
    [property: JsonPropertyName("x")] string? Transaction,
    [property: JsonPropertyName("e")] string? ExtensionResponses,
    [property: JsonPropertyName("i")] string Instance)
{
    public SettlementRecord? ToRecord() =>
        Sha256Hash.TryParse(Fingerprint, out var fingerprint) && Sha256Hash.TryParse(RequestDigest, out var requestDigest)
            ? new(State, fingerprint, Verified, UpstreamId, ClaimId, LeaseUntilMs, Retry, Success, StatusCode, ContentType, Body, SinceMs, requestDigest,
                Transaction, ExtensionResponses)
            : null;

    public static SettlementRecordWire From(SettlementRecord record, string instance) =>
        new(record.State, record.Fingerprint.ToString(), record.Verified, record.UpstreamId, record.ClaimId, record.LeaseUntilMs,
            record.Retry, record.Success, record.StatusCode, record.ContentType, record.Body, record.SinceMs, record.RequestDigest.ToString(),
            record.Transaction, record.ExtensionResponses, instance);
}
