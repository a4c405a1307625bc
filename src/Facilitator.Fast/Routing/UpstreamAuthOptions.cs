namespace Facilitator.Fast.Routing;

/// <summary>
/// <c>Upstreams:N:Auth</c>: how the gateway proves who it is to one upstream. Secrets: never logged or shown (the
/// status API shows the kind only).
/// </summary>
public sealed class UpstreamAuthOptions
{
    /// <summary><c>payai-merchant</c>: an Ed25519-signed JWT that selects the PayAI account (and its own fee payer).</summary>
    public string? Kind { get; set; }

    /// <summary>The key's id, issued with it (the JWT's <c>kid</c> and <c>sub</c>).</summary>
    public string? KeyId { get; set; }

    /// <summary>The private key, base64: a 32-byte Ed25519 seed, or 64 bytes of seed then public key.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>A file holding <see cref="PrivateKey"/> (a Docker or Kubernetes secret), read at start.</summary>
    public string? PrivateKeyFile { get; set; }
}
