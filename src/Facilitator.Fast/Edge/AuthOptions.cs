namespace Facilitator.Fast.Edge;

/// <summary>
/// Section <c>Auth</c>: who may call which route group. API keys are stored as SHA-256 hashes (never the keys);
/// JWT bearer tokens are checked against a shared HS256 secret and/or an ES256 public key. Secrets: never logged or shown.
/// </summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>The header that carries an API key.</summary>
    public string ApiKeyHeader { get; set; } = "X-API-Key";

    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    public JwtOptions Jwt { get; set; } = new();

    /// <summary>Whether the x402 endpoints (<c>/verify</c>, <c>/settle</c>, <c>/supported</c>, <c>/discovery</c>) require credentials.</summary>
    public bool RequireForX402 { get; set; }

    /// <summary>Whether <c>/api/*</c> and <c>/v1/*</c> require credentials; default: once any key or JWT key is configured.</summary>
    public bool? RequireForApi { get; set; }

    /// <summary>
    /// Whether the service's own APIs (<c>/api/*</c>, <c>/v1/*</c>) answer callers on the network while no credential
    /// protects them. Off (the default): without credentials they answer only loopback callers (127.0.0.0/8, ::1), and
    /// others get 403 saying how to open them.
    /// </summary>
    public bool OpenApiToNetwork { get; set; }

    /// <summary>
    /// Whether <c>/v1/status</c>, <c>/v1/status/{id}</c> and <c>/v1/status/batch</c> answer without credentials (the seed
    /// leaves them public). Off (the default): payment records — payer, payee, amounts, transactions — need the same
    /// credentials as the rest of <c>/v1</c> once any are configured.
    /// </summary>
    public bool PublicPaymentStatus { get; set; }

    /// <summary>Whether <c>/health*</c> requires credentials (off: load balancers probe it).</summary>
    public bool RequireForHealth { get; set; }

    public bool HasCredentials => ApiKeys.Count > 0 || Jwt.IsConfigured;

    public sealed class ApiKeyOptions
    {
        /// <summary>Who the key belongs to: rate limits and logs use this name.</summary>
        public string Name { get; set; } = "";

        /// <summary>Hex SHA-256 of the key: <c>printf %s "$KEY" | sha256sum</c>.</summary>
        public string Sha256 { get; set; } = "";

        /// <summary>Route groups the key may call (<c>x402</c>, <c>api</c>, <c>v1</c>, <c>health</c>); empty means all.</summary>
        public List<string> Groups { get; set; } = [];
    }

    public sealed class JwtOptions
    {
        /// <summary>HS256 secret (at least 32 bytes of UTF-8).</summary>
        public string? HmacSecret { get; set; }

        /// <summary>ES256 public key, PEM (<c>-----BEGIN PUBLIC KEY-----</c>).</summary>
        public string? Es256PublicKeyPem { get; set; }

        public string? Issuer { get; set; }

        public string? Audience { get; set; }

        public int ClockSkewSeconds { get; set; } = 30;

        /// <summary>Route groups a valid token may call; empty means all.</summary>
        public List<string> Groups { get; set; } = [];

        public bool IsConfigured => !string.IsNullOrEmpty(HmacSecret) || !string.IsNullOrEmpty(Es256PublicKeyPem);
    }
}
