using System.Text.Json.Serialization;

namespace Facilitator.Fast.Api;

/// <summary>Source-generated JSON metadata of the bodies the OpenAPI document describes (no reflection, AOT-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(X402Request))]
[JsonSerializable(typeof(X402VerifyAnswer))]
[JsonSerializable(typeof(X402SettleAnswer))]
[JsonSerializable(typeof(ApiErrorAnswer))]
[JsonSerializable(typeof(HealthAnswer))]
[JsonSerializable(typeof(V1VerifyRequest))]
[JsonSerializable(typeof(V1VerifyBatchRequest))]
[JsonSerializable(typeof(V1SettleRequest))]
[JsonSerializable(typeof(V1PaymentIdsRequest))]
[JsonSerializable(typeof(V1PaymentResult))]
[JsonSerializable(typeof(List<V1PaymentResult>))]
[JsonSerializable(typeof(ServiceIndex))]
[JsonSerializable(typeof(Protocol.SupportedResponse))]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(StatusAction))]
[JsonSerializable(typeof(Analytics.AnalyticsOverview))]
[JsonSerializable(typeof(Analytics.NetworkAnalyticsList))]
[JsonSerializable(typeof(Analytics.RevenueReport))]
[JsonSerializable(typeof(Analytics.ServiceStatus))]
internal sealed partial class OpenApiJsonContext : JsonSerializerContext;
