using System.Text.Json;
using Facilitator.Fast.Edge;

namespace Facilitator.Fast.Api;

// The wire shapes of the bodies the handlers read and write with Utf8JsonReader/Utf8JsonWriter (never through these
// types, which exist so that the OpenAPI document describes them from source-generated JSON metadata).

/// <summary>The x402 <c>/verify</c> and <c>/settle</c> request (v1 and v2); the body is forwarded byte for byte.</summary>
internal sealed record X402Request(int X402Version, JsonElement PaymentPayload, JsonElement PaymentRequirements);

/// <summary>An x402 verify answer: valid, or the official reason.</summary>
internal sealed record X402VerifyAnswer(bool IsValid, string? InvalidReason, string? InvalidMessage, string? Payer);

/// <summary>An x402 settle answer: the transaction, or the official reason with an empty transaction.</summary>
internal sealed record X402SettleAnswer(bool Success, string? ErrorReason, string? ErrorMessage, string Transaction, string Network, string? Payer);

/// <summary>The service's error format (every 4xx and 5xx it writes itself outside the x402 answers).</summary>
internal sealed record ApiErrorAnswer(ApiErrorDetail Error, string RequestId, long Timestamp);

internal sealed record ApiErrorDetail(string Code, string Message, List<ApiErrorWriter.FieldError>? Details);

/// <summary>The health endpoints' answer.</summary>
internal sealed record HealthAnswer(string Status, Dictionary<string, string>? Checks, string Timestamp);

/// <summary>The seed's verify request of <c>/v1/verify</c> (<c>proof</c>, <c>requirements</c>); an x402 request is taken too.</summary>
internal sealed record V1VerifyRequest(JsonElement Proof, JsonElement Requirements);

/// <summary>The seed's settle-by-id request of <c>/v1/settle</c>.</summary>
internal sealed record V1SettleRequest(string PaymentId);

/// <summary>The batch request of <c>/v1/verify/batch</c>: up to 100 verify requests.</summary>
internal sealed record V1VerifyBatchRequest(List<V1VerifyRequest> Payments);

/// <summary>The batch request of <c>/v1/settle/batch</c> and <c>/v1/status/batch</c>: up to 100 payment ids.</summary>
internal sealed record V1PaymentIdsRequest(List<string> PaymentIds);

/// <summary>The seed's <c>PaymentResult</c>.</summary>
internal sealed record V1PaymentResult(
    bool Success, string PaymentId, string Status, string Payer, string Payee, string Amount, string Network,
    string? Transaction, long? SettledAt, string? Error);

/// <summary><c>GET /</c>: where everything is.</summary>
internal sealed record ServiceIndex(
    string Name, string Version, string Health, string Api, string Status, string? Websocket, string X402, string Docs, string Dashboard, string OpenApi);
