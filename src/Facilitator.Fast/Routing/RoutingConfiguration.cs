using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// The routing settings after binding, the seed's environment variables and validation: what the router,
/// the status API and the startup log read. Loading it is the one place where configuration can stop the start.
/// </summary>
public sealed class RoutingConfiguration
{
    private RoutingConfiguration(AggregatorOptions aggregator, UpstreamDefinition[] upstreams, CdpOptions cdp)
    {
        Aggregator = aggregator;
        Upstreams = upstreams;
        Cdp = cdp;
    }

    public AggregatorOptions Aggregator { get; }

    /// <summary>Every configured upstream, enabled or not, in priority order.</summary>
    public UpstreamDefinition[] Upstreams { get; }

    public CdpOptions Cdp { get; }

    /// <summary>Reads and validates the routing settings; throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public static RoutingConfiguration Load(IConfiguration configuration)
    {
        var aggregator = new AggregatorOptions();
        var cdp = new CdpOptions();
        List<UpstreamOptions> upstreams;
        try
        {
            configuration.GetSection(AggregatorOptions.SectionName).Bind(aggregator);
            configuration.GetSection(CdpOptions.SectionName).Bind(cdp);
            var section = configuration.GetSection(UpstreamOptions.SectionName);
            upstreams = section.Exists() ? section.Get<List<UpstreamOptions>>() ?? [] : SeedEnvironmentSettings.Defaults();
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key in its message ("... at 'Aggregator:TimeoutMs' to type ...").
            throw new InvalidSettingException("configuration", ex.Message.ReplaceLineEndings(" "));
        }

        for (var i = 0; i < upstreams.Count; i++)
        {
            var path = configuration.GetSection(UpstreamOptions.SectionName).Exists() ? $"{UpstreamOptions.SectionName}:{i}" : $"FACILITATOR_{i + 1}";
            upstreams[i].SettingPath = path;
            upstreams[i].UrlSetting = path.StartsWith("FACILITATOR_", StringComparison.Ordinal) ? $"{path}_URL" : $"{path}:Url";
        }

        SeedEnvironmentSettings.Apply(configuration, aggregator, upstreams, cdp);
        Validate(aggregator);
        var definitions = BuildDefinitions(aggregator, upstreams, cdp, Telemetry.OpenTelemetrySetup.IsEnabled(configuration));
        return new RoutingConfiguration(aggregator, definitions, cdp);
    }

    private static void Validate(AggregatorOptions options)
    {
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:TimeoutMs (FACILITATOR_TIMEOUT_MS)", options.TimeoutMs, 1, 600_000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:SettleTimeoutMs", options.SettleTimeoutMs, 1, 600_000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:Retries (FACILITATOR_RETRIES)", options.Retries, 0, 10);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:MaxConsecutiveFailures (FACILITATOR_MAX_CONSECUTIVE_FAILURES)", options.MaxConsecutiveFailures, 1, 1000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:HealthCheckIntervalMs (FACILITATOR_HEALTH_CHECK_INTERVAL_MS)", options.HealthCheckIntervalMs, 100, 86_400_000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:HedgeMinDelayMs", options.HedgeMinDelayMs, 1, 600_000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:HedgeMaxDelayMs", options.HedgeMaxDelayMs, options.HedgeMinDelayMs, 600_000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:ExtraRequestMinimum", options.ExtraRequestMinimum, 0, 1_000_000);
        if (options.ExtraRequestRatio is < 0 or > 10 || double.IsNaN(options.ExtraRequestRatio))
        {
            throw new InvalidSettingException("Aggregator:ExtraRequestRatio", "must be between 0 and 10.");
        }

        InvalidSettingException.ThrowIfOutOfRange("Aggregator:UnhealthyCooldownMs", options.UnhealthyCooldownMs, 0, 86_400_000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:SupportedCacheMs", options.SupportedCacheMs, 0, 86_400_000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:CheckHealthMinIntervalMs", options.CheckHealthMinIntervalMs, 0, 3_600_000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:OperationLogCapacity", options.OperationLogCapacity, 1, 1_000_000);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:MaxRequestBodyBytes", options.MaxRequestBodyBytes, 1024, 16 * 1024 * 1024);
        InvalidSettingException.ThrowIfOutOfRange("Aggregator:MaxResponseBodyBytes", options.MaxResponseBodyBytes, 1024, 64 * 1024 * 1024);
    }

    private static UpstreamDefinition[] BuildDefinitions(AggregatorOptions aggregator, List<UpstreamOptions> upstreams, CdpOptions cdp, bool telemetry)
    {
        // Read (and so validated) whenever it is set, whether or not an upstream uses it: a bad key stops the start.
        var sharedCdpKey = UpstreamCredentialsBuilder.ReadSharedCdpKey(cdp);
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var definitions = new List<UpstreamDefinition>(upstreams.Count);
        for (var i = 0; i < upstreams.Count; i++)
        {
            var u = upstreams[i];
            var path = u.SettingPath;
            var id = string.IsNullOrWhiteSpace(u.Id) ? $"facilitator-{i + 1}" : u.Id.Trim();
            if (!IsValidId(id))
            {
                throw new InvalidSettingException($"{path}:Id", $"'{id}' must be 1-64 letters, digits, '-', '_' or '.'.");
            }

            if (!ids.Add(id))
            {
                throw new InvalidSettingException($"{path}:Id", $"the id '{id}' is used by more than one upstream.");
            }

            var uri = ParseBaseUri(u.UrlSetting, u.Url);
            var timeout = u.TimeoutMs ?? aggregator.TimeoutMs;
            InvalidSettingException.ThrowIfOutOfRange($"{path}:TimeoutMs", timeout, 1, 600_000);
            var settleTimeout = u.SettleTimeoutMs ?? aggregator.SettleTimeoutMs;
            InvalidSettingException.ThrowIfOutOfRange($"{path}:SettleTimeoutMs", settleTimeout, 1, 600_000);
            var retries = u.Retries ?? aggregator.Retries;
            InvalidSettingException.ThrowIfOutOfRange($"{path}:Retries", retries, 0, 10);
            var maxConnections = u.MaxConnections ?? aggregator.MaxConnectionsPerUpstream;
            InvalidSettingException.ThrowIfOutOfRange(
                u.MaxConnections is null ? "Aggregator:MaxConnectionsPerUpstream" : $"{path}:MaxConnections", maxConnections, 1, 100_000);

            var isCdp = string.Equals(u.Kind, SeedEnvironmentSettings.CdpUpstreamKind, StringComparison.OrdinalIgnoreCase);
            if (u.Kind is not null && !isCdp && !string.Equals(u.Kind, "standard", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidSettingException($"{path}:Kind", $"'{u.Kind}' must be 'standard' or '{SeedEnvironmentSettings.CdpUpstreamKind}'.");
            }

            var enabled = u.Enabled;
            string? disabledReason = enabled ? null : "disabled in configuration";
            var ownAuth = u.Auth is { Kind: { Length: > 0 } };
            if (enabled && isCdp && !ownAuth && sharedCdpKey is null)
            {
                enabled = false;
                disabledReason = "CDP_API_KEY_ID and CDP_API_KEY_SECRET (or CDP_API_KEY_SECRET_FILE) are not set";
            }

            definitions.Add(new UpstreamDefinition(
                id,
                string.IsNullOrWhiteSpace(u.Name) ? id : u.Name.Trim(),
                uri,
                u.Priority ?? i + 1,
                i,
                enabled,
                disabledReason,
                TimeSpan.FromMilliseconds(timeout),
                TimeSpan.FromMilliseconds(settleTimeout),
                retries,
                BuildHeaders(path, u.Headers),
                u.PropagateTraceContext && telemetry,
                UpstreamCredentialsBuilder.Build($"{path}:Auth", u.Auth, isCdp, sharedCdpKey))
            {
                MaxConnections = maxConnections,
            });
        }

        if (!definitions.Exists(d => d.Enabled))
        {
            throw new InvalidSettingException(
                "Upstreams (FACILITATOR_{N}_URL / FACILITATOR_{N}_ENABLED)",
                "no upstream facilitator is enabled; enable at least one.");
        }

        definitions.Sort(static (a, b) => a.Priority != b.Priority ? a.Priority.CompareTo(b.Priority) : a.Order.CompareTo(b.Order));
        return [.. definitions];
    }

    private static Uri ParseBaseUri(string setting, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new InvalidSettingException(setting, "a URL is required.");
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new InvalidSettingException(setting, "must be an absolute http(s) URL without credentials, query or fragment.");
        }

        var builder = new UriBuilder(uri);
        if (!builder.Path.EndsWith('/'))
        {
            builder.Path += "/";
        }

        return builder.Uri;
    }

    private static KeyValuePair<string, string>[][] BuildHeaders(string path, Dictionary<string, Dictionary<string, string>>? configured)
    {
        var perOperation = new List<KeyValuePair<string, string>>[FacilitatorOperations.Count];
        for (var i = 0; i < perOperation.Length; i++)
        {
            perOperation[i] = [];
        }

        if (configured is not null)
        {
            // "*" first so that an operation's own header of the same name wins.
            foreach (var (operationName, headers) in configured.OrderBy(static p => p.Key == "*" ? 0 : 1))
            {
                var targets = new List<int>();
                if (operationName == "*")
                {
                    targets.AddRange(Enumerable.Range(0, FacilitatorOperations.Count));
                }
                else if (FacilitatorOperations.TryParse(operationName, out var operation))
                {
                    targets.Add((int)operation);
                }
                else
                {
                    throw new InvalidSettingException($"{path}:Headers:{operationName}", "must be verify, settle, supported, list or *.");
                }

                foreach (var (name, value) in headers)
                {
                    if (!UpstreamCredentialsBuilder.IsHeaderName(name) || value.AsSpan().ContainsAny('\r', '\n', '\0'))
                    {
                        throw new InvalidSettingException($"{path}:Headers:{operationName}:{name}", "is not a valid header name and value.");
                    }

                    foreach (var target in targets)
                    {
                        perOperation[target].RemoveAll(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));
                        perOperation[target].Add(new(name, value));
                    }
                }
            }
        }

        return [.. perOperation.Select(static l => l.ToArray())];
    }

    private static bool IsValidId(string id) =>
        id.Length is > 0 and <= 64 && id.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
