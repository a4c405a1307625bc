namespace Facilitator.Fast.Routing;

/// <summary>
/// Reads and validates an upstream's credentials at load, so a bad key, token or file stops the start with one line
/// naming its setting (never its value), and a request never finds out later that its credentials cannot be made.
/// </summary>
internal static class UpstreamCredentialsBuilder
{
    private const string Kinds = "payai-merchant, coinbase-cdp, bearer or api-key";

    /// <summary>The global CDP key (<c>CDP_API_KEY_*</c>), read once for every <c>coinbase-cdp</c> upstream without its own; null when not set.</summary>
    public static CdpApiKey? ReadSharedCdpKey(CdpOptions cdp)
    {
        if (!cdp.IsConfigured)
        {
            return null;
        }

        var fromFile = !string.IsNullOrWhiteSpace(cdp.ApiKeySecretFile);
        var secret = SecretSetting.Read(cdp.ApiKeySecret, CdpOptions.SecretSetting, cdp.ApiKeySecretFile, CdpOptions.SecretFileSetting);
        return CdpApiKey.Parse(cdp.ApiKeyId, secret, CdpOptions.IdSetting, fromFile ? CdpOptions.SecretFileSetting : CdpOptions.SecretSetting);
    }

    /// <summary>
    /// Makes an upstream's credentials: its <c>Auth</c> section when it has one, else for a <c>coinbase-cdp</c> upstream
    /// the shared CDP key; null when it needs none.
    /// </summary>
    /// <param name="path">The upstream's <c>Auth</c> section path, for errors (<c>Upstreams:0:Auth</c>).</param>
    public static Func<TimeProvider, IUpstreamCredentials>? Build(string path, UpstreamAuthOptions? auth, bool isCdp, CdpApiKey? sharedCdpKey)
    {
        if (auth is null || string.IsNullOrWhiteSpace(auth.Kind))
        {
            return isCdp && sharedCdpKey is not null ? time => new CdpRequestSigner(sharedCdpKey, time) : null;
        }

        var kind = auth.Kind.Trim().ToLowerInvariant();
        if (isCdp && kind != SeedEnvironmentSettings.CdpUpstreamKind)
        {
            throw new InvalidSettingException($"{path}:Kind", $"a {SeedEnvironmentSettings.CdpUpstreamKind} upstream authenticates with a CDP key ({SeedEnvironmentSettings.CdpUpstreamKind}), not '{auth.Kind}'.");
        }

        switch (kind)
        {
            case PayAiMerchantToken.KindName:
                return PayAi(path, auth);
            case SeedEnvironmentSettings.CdpUpstreamKind:
                var key = Cdp(path, auth);
                return time => new CdpRequestSigner(key, time);
            case StaticHeaderCredentials.BearerKind:
                var token = Token(path, auth);
                var bearer = StaticHeaderCredentials.BearerToken(token);
                return _ => bearer;
            case StaticHeaderCredentials.ApiKeyKind:
                var header = auth.Header?.Trim();
                if (string.IsNullOrEmpty(header) || !IsHeaderName(header))
                {
                    throw new InvalidSettingException($"{path}:Header", "an api-key needs the name of the header that carries it (for example X-API-Key).");
                }

                var apiKey = StaticHeaderCredentials.ApiKey(header, Token(path, auth));
                return _ => apiKey;
            default:
                throw new InvalidSettingException($"{path}:Kind", $"'{auth.Kind}' must be {Kinds}.");
        }
    }

    private static Func<TimeProvider, IUpstreamCredentials> PayAi(string path, UpstreamAuthOptions auth)
    {
        if (string.IsNullOrWhiteSpace(auth.KeyId))
        {
            throw new InvalidSettingException($"{path}:KeyId", "the merchant key's id is required.");
        }

        var keyText = SecretSetting.Read(auth.PrivateKey, $"{path}:PrivateKey", auth.PrivateKeyFile, $"{path}:PrivateKeyFile");
        if (string.IsNullOrWhiteSpace(keyText) || PayAiMerchantToken.ParseSeed(keyText) is not { } seed)
        {
            throw new InvalidSettingException(
                $"{path}:PrivateKey", "must be a base64 Ed25519 private key: a 32-byte seed, or 64 bytes of seed and its public key.");
        }

        var keyId = auth.KeyId.Trim();
        return time => new PayAiMerchantToken(keyId, seed, time);
    }

    private static CdpApiKey Cdp(string path, UpstreamAuthOptions auth)
    {
        var fromFile = !string.IsNullOrWhiteSpace(auth.PrivateKeyFile);
        var secret = SecretSetting.Read(auth.PrivateKey, $"{path}:PrivateKey", auth.PrivateKeyFile, $"{path}:PrivateKeyFile")
            ?? throw new InvalidSettingException($"{path}:PrivateKey", "a CDP key needs its secret (PrivateKey or PrivateKeyFile).");
        return CdpApiKey.Parse(auth.KeyId, secret, $"{path}:KeyId", fromFile ? $"{path}:PrivateKeyFile" : $"{path}:PrivateKey");
    }

    private static string Token(string path, UpstreamAuthOptions auth)
    {
        var token = SecretSetting.Read(auth.Token, $"{path}:Token", auth.TokenFile, $"{path}:TokenFile")
            ?? throw new InvalidSettingException($"{path}:Token", "a token is required (Token or TokenFile).");
        if (token.AsSpan().ContainsAny('\r', '\n', '\0'))
        {
            throw new InvalidSettingException($"{path}:Token", "must be one line (no line breaks or NUL characters).");
        }

        return token;
    }

    internal static bool IsHeaderName(string name) =>
        name.Length > 0 && name.All(static c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c));
}
