namespace Facilitator.Fast.Routing;

/// <summary>
/// <c>Upstreams:N:Auth</c>: how the gateway proves who it is to one upstream. Secrets: never logged or shown (the
/// status API shows the kind only). Each secret may be given as a value or as a file holding it (<c>...File</c>).
/// </summary>
public sealed class UpstreamAuthOptions
{
    /// <summary>
    /// <c>payai-merchant</c>: an Ed25519-signed JWT that selects the PayAI account (and its own fee payer).
    /// <c>coinbase-cdp</c>: a CDP API key signing a fresh JWT per request (ES256 or EdDSA, from the key's shape).
    /// <c>bearer</c>: <see cref="Token"/> as <c>Authorization: Bearer</c>. <c>api-key</c>: <see cref="Token"/> in
    /// the header <see cref="Header"/>.
    /// </summary>
    public string? Kind { get; set; }

    /// <summary>The key's id, issued with it (the JWT's <c>kid</c> and <c>sub</c>): <c>payai-merchant</c>, <c>coinbase-cdp</c>.</summary>
    public string? KeyId { get; set; }

    /// <summary>
    /// The private key. <c>payai-merchant</c>: base64, a 32-byte Ed25519 seed or 64 bytes of seed then public key.
    /// <c>coinbase-cdp</c>: as <c>CDP_API_KEY_SECRET</c>.
    /// </summary>
    public string? PrivateKey { get; set; }

    /// <summary>A file holding <see cref="PrivateKey"/> (a Docker or Kubernetes secret), read at start.</summary>
    public string? PrivateKeyFile { get; set; }

    /// <summary>The token or API key of <c>bearer</c> and <c>api-key</c>.</summary>
    public string? Token { get; set; }

    /// <summary>A file holding <see cref="Token"/>, read at start.</summary>
    public string? TokenFile { get; set; }

    /// <summary>The header that carries an <c>api-key</c> (for example <c>X-API-Key</c>).</summary>
    public string? Header { get; set; }
}
