using System.Text.Json.Serialization;

namespace Facilitator.Fast.Api;

/// <summary>Source-generated JSON for the service's own API bodies (status API).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(StatusAction))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
