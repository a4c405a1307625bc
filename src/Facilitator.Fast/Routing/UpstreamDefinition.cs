using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>A validated, immutable upstream facilitator: where it is, how to call it, and whether it may be used.</summary>
public sealed class UpstreamDefinition
{
    public UpstreamDefinition(
        string id,
        string name,
        Uri baseUri,
        int priority,
        int order,
        bool enabled,
        string? disabledReason,
        TimeSpan timeout,
        TimeSpan settleTimeout,
        int retries,
        KeyValuePair<string, string>[][] headers,
        bool propagateTraceContext = false,
        Func<TimeProvider, IUpstreamCredentials>? credentials = null)
    {
        Id = id;
        Name = name;
        BaseUri = baseUri;
        Priority = priority;
        Order = order;
        Enabled = enabled;
        DisabledReason = disabledReason;
        Timeout = timeout;
        SettleTimeout = settleTimeout;
        Retries = retries;
        Headers = headers;
        PropagateTraceContext = propagateTraceContext;
        Credentials = credentials;
    }

    /// <summary>Connections open to this upstream at most.</summary>
    public int MaxConnections { get; init; } = 256;

    /// <summary>Makes the upstream's credentials (validated at load); null when it needs none.</summary>
    public Func<TimeProvider, IUpstreamCredentials>? Credentials { get; }

    /// <summary>Whether requests carry the trace context (configured for this upstream, and telemetry exported).</summary>
    public bool PropagateTraceContext { get; }

    public string Id { get; }

    public string Name { get; }

    /// <summary>Base URL, always ending in '/', so operation paths resolve below it.</summary>
    public Uri BaseUri { get; }

    /// <summary>
    /// Scheme, host and port of <see cref="BaseUri"/>: what logs and the status API show. A path may carry a token
    /// (<c>https://host/key/abc123/</c>), so it is never shown.
    /// </summary>
    public string Origin => BaseUri.GetLeftPart(UriPartial.Authority);

    public int Priority { get; }

    /// <summary>Position in configuration; breaks ties between equal priorities.</summary>
    public int Order { get; }

    public bool Enabled { get; }

    /// <summary>Why the upstream is not used, when <see cref="Enabled"/> is false.</summary>
    public string? DisabledReason { get; }


    /// <summary>Per-attempt timeout of verify, supported and discovery.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Per-attempt timeout of settle, which waits for the chain; expiry means <c>settlement_pending</c>.</summary>
    public TimeSpan SettleTimeout { get; }

    public TimeSpan TimeoutFor(FacilitatorOperation operation) =>
        operation == FacilitatorOperation.Settle ? SettleTimeout : Timeout;

    public int Retries { get; }

    /// <summary>Extra headers per <see cref="FacilitatorOperation"/> (indexed by its value). Secret values.</summary>
    public KeyValuePair<string, string>[][] Headers { get; }

    public Uri EndpointFor(FacilitatorOperation operation) => new(BaseUri, FacilitatorOperations.Path(operation));
}
