using System.Globalization;
using System.Text.RegularExpressions;

namespace Facilitator.Fast.Routing;

/// <summary>
/// The environment variables of the original aggregator (<c>ENABLE_FACILITATOR_AGGREGATOR</c>,
/// <c>FACILITATOR_{N}_URL</c>, <c>FACILITATOR_{N}_ENABLED</c>, <c>FACILITATOR_TIMEOUT_MS</c>, ...), applied on top of
/// the <c>Aggregator</c> and <c>Upstreams</c> sections so that deployments configured for it keep working.
/// </summary>
/// <remarks>
/// Without an <c>Upstreams</c> section the seed's three upstreams are the list: x402.rs (N=1), PayAI (N=2) and
/// Coinbase CDP (N=3). <c>FACILITATOR_{N}_*</c> applies to the N-th entry of the list and adds an entry for any
/// N beyond it, with priority N. Values are read from configuration rather than the process environment so
/// that every configuration source (and every test) can set them.
/// A seed upstream whose URL is pointed elsewhere is no longer that upstream: it is called <c>facilitator-{N}</c>
/// (unless <c>FACILITATOR_{N}_ID</c> names it), so logs and the status API do not show another service's name for it.
/// </remarks>
public static partial class SeedEnvironmentSettings
{
    public const string CdpUpstreamKind = "coinbase-cdp";

    /// <summary>PayAI's facilitator; the seed's second upstream.</summary>
    public const string PayAiUrl = "https://facilitator.payai.network";

    /// <summary>PayAI's own receipt wait (100 s) plus a margin.</summary>
    public const int PayAiSettleTimeoutMs = 110_000;

    /// <summary>The seed's default upstreams, used when no <c>Upstreams</c> section is configured.</summary>
    public static List<UpstreamOptions> Defaults() =>
    [
        new() { Id = "x402-rs", Name = "x402.rs", Url = "https://facilitator.x402.rs", Priority = 1 },
        // PayAI waits up to 100 s for a settlement's receipt before answering settlement_pending: its settle budget is
        // that plus a margin, so an answer it is about to give is not cut and reported pending by the gateway.
        new() { Id = "payai-network", Name = "PayAI Network", Url = PayAiUrl, Priority = 2, SettleTimeoutMs = PayAiSettleTimeoutMs },
        new()
        {
            Id = "coinbase-cdp", Name = "Coinbase CDP", Url = "https://api.cdp.coinbase.com/platform/v2/x402",
            Priority = 3, Kind = CdpUpstreamKind,
        },
    ];

    public static void Apply(IConfiguration configuration, AggregatorOptions aggregator, List<UpstreamOptions> upstreams, CdpOptions cdp)
    {
        ApplyBool(configuration, "ENABLE_FACILITATOR_AGGREGATOR", v => aggregator.Enabled = v);
        ApplyInt(configuration, "FACILITATOR_TIMEOUT_MS", v => aggregator.TimeoutMs = v);
        ApplyInt(configuration, "FACILITATOR_RETRIES", v => aggregator.Retries = v);
        ApplyBool(configuration, "FACILITATOR_HEALTH_CHECK", v => aggregator.HealthCheck = v);
        ApplyInt(configuration, "FACILITATOR_HEALTH_CHECK_INTERVAL_MS", v => aggregator.HealthCheckIntervalMs = v);
        ApplyInt(configuration, "FACILITATOR_MAX_CONSECUTIVE_FAILURES", v => aggregator.MaxConsecutiveFailures = v);
        ApplyBool(configuration, "FACILITATOR_LOGGING", v => aggregator.Logging = v);

        if (configuration["CDP_API_KEY_ID"] is { Length: > 0 } keyId)
        {
            cdp.ApiKeyId = keyId;
        }

        if (configuration["CDP_API_KEY_SECRET"] is { Length: > 0 } keySecret)
        {
            cdp.ApiKeySecret = keySecret;
        }

        if (configuration["CDP_API_KEY_SECRET_FILE"] is { Length: > 0 } keySecretFile)
        {
            cdp.ApiKeySecretFile = keySecretFile;
        }

        ApplyNumberedUpstreams(configuration, upstreams);
        ApplyPayAiMerchantKey(configuration, upstreams);
    }

    /// <summary>
    /// <c>PAYAI_MERCHANT_KEY_ID</c> with <c>PAYAI_MERCHANT_PRIVATE_KEY</c> (or <c>..._FILE</c>): the merchant key for the
    /// upstream at PayAI's URL that has no <c>Auth</c> of its own, the way <c>CDP_API_KEY_*</c> configure CDP.
    /// </summary>
    private static void ApplyPayAiMerchantKey(IConfiguration configuration, List<UpstreamOptions> upstreams)
    {
        var keyId = configuration["PAYAI_MERCHANT_KEY_ID"];
        var key = configuration["PAYAI_MERCHANT_PRIVATE_KEY"];
        var keyFile = configuration["PAYAI_MERCHANT_PRIVATE_KEY_FILE"];
        if (string.IsNullOrWhiteSpace(keyId) && string.IsNullOrWhiteSpace(key) && string.IsNullOrWhiteSpace(keyFile))
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(keyId) || (string.IsNullOrWhiteSpace(key) && string.IsNullOrWhiteSpace(keyFile)))
        {
            throw new InvalidSettingException(
                "PAYAI_MERCHANT_KEY_ID", "a PayAI merchant key needs both PAYAI_MERCHANT_KEY_ID and PAYAI_MERCHANT_PRIVATE_KEY (or PAYAI_MERCHANT_PRIVATE_KEY_FILE).");
        }

        var target = upstreams.Find(u => u.Auth is null && SameUrl(u.Url, PayAiUrl))
            ?? throw new InvalidSettingException(
                "PAYAI_MERCHANT_KEY_ID", $"no upstream at {PayAiUrl} without an Auth section of its own takes the merchant key.");
        target.Auth = new UpstreamAuthOptions
        {
            Kind = "payai-merchant",
            KeyId = keyId.Trim(),
            PrivateKey = string.IsNullOrWhiteSpace(key) ? null : key.Trim(),
            PrivateKeyFile = string.IsNullOrWhiteSpace(keyFile) ? null : keyFile.Trim(),
        };
    }

    private static void ApplyNumberedUpstreams(IConfiguration configuration, List<UpstreamOptions> upstreams)
    {
        var numbers = new SortedSet<int>();
        foreach (var child in configuration.GetChildren())
        {
            var match = NumberedVariable().Match(child.Key);
            if (match.Success && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1)
            {
                numbers.Add(n);
            }
        }

        foreach (var n in numbers)
        {
            var urlKey = $"FACILITATOR_{n}_URL";
            var enabledKey = $"FACILITATOR_{n}_ENABLED";
            var url = configuration[urlKey];
            var enabledText = configuration[enabledKey];
            var id = configuration[$"FACILITATOR_{n}_ID"];

            UpstreamOptions entry;
            if (n <= upstreams.Count)
            {
                entry = upstreams[n - 1];
            }
            else
            {
                if (string.IsNullOrWhiteSpace(url))
                {
                    // The seed ignores FACILITATOR_{N}_ENABLED for an upstream that has no URL.
                    continue;
                }

                entry = new UpstreamOptions
                {
                    Id = $"facilitator-{n}", Name = $"Facilitator {n}", Priority = n,
                    SettingPath = $"FACILITATOR_{n}", UrlSetting = urlKey,
                };
                upstreams.Add(entry);
            }

            if (!string.IsNullOrWhiteSpace(url))
            {
                // Entries of the seed's own list (not of an Upstreams section, which names its entries) carry the
                // seed's id only while they point at the seed's URL.
                if (entry.SettingPath.StartsWith("FACILITATOR_", StringComparison.Ordinal) && !SameUrl(entry.Url, url))
                {
                    entry.Id = $"facilitator-{n}";
                    entry.Name = $"Facilitator {n}";
                    entry.SettleTimeoutMs = null;
                }

                entry.Url = url.Trim();
                entry.UrlSetting = urlKey;
            }

            if (!string.IsNullOrWhiteSpace(id))
            {
                entry.Id = id.Trim();
                entry.Name = entry.Name is null || entry.Name.StartsWith("Facilitator ", StringComparison.Ordinal) ? null : entry.Name;
            }

            if (enabledText is not null)
            {
                entry.Enabled = ParseBool(enabledKey, enabledText);
            }

            var settleKey = $"FACILITATOR_{n}_SETTLE_TIMEOUT_MS";
            ApplyInt(configuration, settleKey, v => entry.SettleTimeoutMs = v);
            ApplyAuthToken(configuration, n, entry);
        }
    }

    /// <summary>
    /// <c>FACILITATOR_{N}_AUTH_TOKEN</c> (or <c>..._AUTH_TOKEN_FILE</c>): a secret sent on every request to the N-th
    /// upstream, as <c>Authorization: Bearer</c>, or in the header <c>FACILITATOR_{N}_AUTH_HEADER</c> names.
    /// </summary>
    private static void ApplyAuthToken(IConfiguration configuration, int n, UpstreamOptions entry)
    {
        var token = configuration[$"FACILITATOR_{n}_AUTH_TOKEN"];
        var tokenFile = configuration[$"FACILITATOR_{n}_AUTH_TOKEN_FILE"];
        var header = configuration[$"FACILITATOR_{n}_AUTH_HEADER"]?.Trim();
        if (string.IsNullOrWhiteSpace(token) && string.IsNullOrWhiteSpace(tokenFile))
        {
            if (!string.IsNullOrEmpty(header))
            {
                throw new InvalidSettingException($"FACILITATOR_{n}_AUTH_HEADER", $"names a header for FACILITATOR_{n}_AUTH_TOKEN (or ..._FILE), which is not set.");
            }

            return;
        }

        var tokenSetting = $"FACILITATOR_{n}_AUTH_TOKEN";
        if (string.Equals(entry.Kind, CdpUpstreamKind, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidSettingException(tokenSetting, "the Coinbase CDP upstream signs its requests with CDP_API_KEY_ID and CDP_API_KEY_SECRET, not a token.");
        }

        // Read here, so that an error names the variable rather than the section path it becomes.
        var secret = SecretSetting.Read(token, tokenSetting, tokenFile, tokenSetting + "_FILE")!;
        if (secret.AsSpan().ContainsAny('\r', '\n', '\0'))
        {
            throw new InvalidSettingException(string.IsNullOrWhiteSpace(tokenFile) ? tokenSetting : tokenSetting + "_FILE", "must be one line.");
        }

        var bearer = string.IsNullOrEmpty(header) || string.Equals(header, "Authorization", StringComparison.OrdinalIgnoreCase);
        if (!bearer && !UpstreamCredentialsBuilder.IsHeaderName(header!))
        {
            throw new InvalidSettingException($"FACILITATOR_{n}_AUTH_HEADER", "is not a valid header name.");
        }

        entry.Auth = new UpstreamAuthOptions
        {
            Kind = bearer ? StaticHeaderCredentials.BearerKind : StaticHeaderCredentials.ApiKeyKind,
            Header = bearer ? null : header,
            Token = secret,
        };
    }

    /// <summary>Whether two URLs name the same base (case of scheme and host, and a trailing slash, aside).</summary>
    private static bool SameUrl(string? configured, string url) =>
        configured is not null
        && Uri.TryCreate(configured.Trim(), UriKind.Absolute, out var a) && Uri.TryCreate(url.Trim(), UriKind.Absolute, out var b)
        && Uri.Compare(a, b, UriComponents.SchemeAndServer | UriComponents.UserInfo, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0
        && string.Equals(a.AbsolutePath.TrimEnd('/'), b.AbsolutePath.TrimEnd('/'), StringComparison.Ordinal)
        && a.Query == b.Query && a.Fragment == b.Fragment;

    private static void ApplyInt(IConfiguration configuration, string key, Action<int> apply)
    {
        if (configuration[key] is not { } text)
        {
            return;
        }

        if (!int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new InvalidSettingException(key, $"'{text}' is not a whole number.");
        }

        apply(value);
    }

    private static void ApplyBool(IConfiguration configuration, string key, Action<bool> apply)
    {
        if (configuration[key] is { } text)
        {
            apply(ParseBool(key, text));
        }
    }

    internal static bool ParseBool(string key, string text) => text.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "on" => true,
        "false" or "0" or "no" or "off" => false,
        _ => throw new InvalidSettingException(key, $"'{text}' is not true or false."),
    };

    [GeneratedRegex("^FACILITATOR_([0-9]{1,4})_(URL|ENABLED|ID|SETTLE_TIMEOUT_MS|AUTH_TOKEN|AUTH_TOKEN_FILE|AUTH_HEADER)$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex NumberedVariable();
}
