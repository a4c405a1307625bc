namespace Facilitator.Fast.Routing;

/// <summary>Coinbase CDP API credentials (section <c>Cdp</c>, or <c>CDP_API_KEY_ID</c>/<c>CDP_API_KEY_SECRET</c>). Secret.</summary>
public sealed class CdpOptions
{
    public const string SectionName = "Cdp";

    public string? ApiKeyId { get; set; }

    public string? ApiKeySecret { get; set; }

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ApiKeyId) && !string.IsNullOrWhiteSpace(ApiKeySecret);
}
