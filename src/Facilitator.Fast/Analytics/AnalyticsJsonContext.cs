using System.Text.Json.Serialization;

namespace Facilitator.Fast.Analytics;

/// <summary>
/// Source-generated JSON for the analytics reports. Nulls are written (<c>averageGas: null</c>, an unknown asset's
/// <c>symbol: null</c>): the seed's shapes have these fields, and a missing field would read as a gateway bug.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(AnalyticsOverview))]
[JsonSerializable(typeof(NetworkAnalyticsList))]
[JsonSerializable(typeof(RevenueReport))]
[JsonSerializable(typeof(ServiceStatus))]
internal sealed partial class AnalyticsJsonContext : JsonSerializerContext;
