namespace Facilitator.Fast.Routing;

/// <summary>
/// Coinbase CDP API credentials (section <c>Cdp</c>, or <c>CDP_API_KEY_ID</c> with <c>CDP_API_KEY_SECRET</c> or
/// <c>CDP_API_KEY_SECRET_FILE</c>), used by every <c>coinbase-cdp</c> upstream without an <c>Auth</c> of its own. Secret.
/// </summary>
public sealed class CdpOptions
{
    public const string SectionName = "Cdp";

    public const string IdSetting = "Cdp:ApiKeyId (CDP_API_KEY_ID)";
    public const string SecretSetting = "Cdp:ApiKeySecret (CDP_API_KEY_SECRET)";
    public const string SecretFileSetting = "Cdp:ApiKeySecretFile (CDP_API_KEY_SECRET_FILE)";

    public string? ApiKeyId { get; set; }

    /// <summary>A PEM EC P-256 private key (ES256) or a base64 64-byte Ed25519 key (EdDSA); <c>\n</c> read as line breaks.</summary>
    public string? ApiKeySecret { get; set; }

    /// <summary>A file holding <see cref="ApiKeySecret"/> (a Docker or Kubernetes secret), read at start.</summary>
    public string? ApiKeySecretFile { get; set; }

    public bool IsSecretConfigured => !string.IsNullOrWhiteSpace(ApiKeySecret) || !string.IsNullOrWhiteSpace(ApiKeySecretFile);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ApiKeyId) && IsSecretConfigured;
}
