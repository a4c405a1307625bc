namespace Facilitator.Fast.Routing;

/// <summary>One entry of the <c>Upstreams</c> configuration array: an upstream facilitator and how to call it.</summary>
public sealed class UpstreamOptions
{
    public const string SectionName = "Upstreams";

    public string? Id { get; set; }

    public string? Name { get; set; }

    /// <summary>Base URL; the gateway calls <c>{Url}/verify</c>, <c>{Url}/settle</c>, <c>{Url}/supported</c>, <c>{Url}/discovery/resources</c>.</summary>
    public string? Url { get; set; }

    /// <summary>Lower is tried first; defaults to the entry's position (1-based).</summary>
    public int? Priority { get; set; }

    public bool Enabled { get; set; } = true;

    /// <summary><c>standard</c> (default) or <c>coinbase-cdp</c>, which is enabled only when CDP credentials are configured.</summary>
    public string? Kind { get; set; }

    public int? TimeoutMs { get; set; }

    public int? SettleTimeoutMs { get; set; }

    public int? Retries { get; set; }

    /// <summary>Overrides <c>Aggregator:MaxConnectionsPerUpstream</c> for this upstream.</summary>
    public int? MaxConnections { get; set; }

    /// <summary>Extra request headers per operation (<c>verify</c>, <c>settle</c>, <c>supported</c>, <c>list</c>) or <c>*</c> for all.
    /// Values are treated as secrets: they never appear in logs or the status API.</summary>
    public Dictionary<string, Dictionary<string, string>>? Headers { get; set; }

    /// <summary>How the gateway authenticates to this upstream (<c>payai-merchant</c>); none by default.</summary>
    public UpstreamAuthOptions? Auth { get; set; }

    /// <summary>
    /// Send this upstream the trace context (<c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>) of the request it
    /// serves, which continues the caller's. Only when telemetry is exported too; off by default, so a caller's trace
    /// ids and baggage never reach a third party.
    /// </summary>
    public bool PropagateTraceContext { get; set; }

    /// <summary>The configuration key or environment variable the URL came from, for error messages.</summary>
    internal string UrlSetting { get; set; } = "";

    /// <summary>The configuration path of this entry, for error messages.</summary>
    internal string SettingPath { get; set; } = "";
}
