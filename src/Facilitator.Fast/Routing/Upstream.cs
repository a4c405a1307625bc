using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// An upstream facilitator at run time: its definition, its own connection pool, its endpoints and statistics,
/// and the gate that lets one request at a time try it again after it was marked unhealthy.
/// </summary>
public sealed class Upstream : IDisposable
{
    private readonly Uri[] _endpoints;
    private long _nextTrialTicks;

    public Upstream(UpstreamDefinition definition, HttpMessageHandler handler, TimeProvider? time = null)
    {
        Definition = definition;
        Credentials = definition.Credentials?.Invoke(time ?? TimeProvider.System);
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
        _endpoints = new Uri[FacilitatorOperations.Count];
        for (var i = 0; i < _endpoints.Length; i++)
        {
            _endpoints[i] = definition.EndpointFor((FacilitatorOperation)i);
        }
    }

    public UpstreamDefinition Definition { get; }

    public string Id => Definition.Id;

    public HttpMessageInvoker Invoker { get; }

    /// <summary>What authenticates the gateway to this upstream on every request; null when nothing does.</summary>
    public IUpstreamCredentials? Credentials { get; }

    public UpstreamStatistics Statistics { get; } = new();

    /// <summary>Whether the upstream accepts the gateway's credentials, for logs (once per change) and the status API.</summary>
    public UpstreamCredentialState CredentialState { get; } = new();

    private SupportedResponse? _capabilities;
    private CapabilitySet? _capabilitySet;

    /// <summary>The upstream's last readable <c>/supported</c> answer; null until one was read.</summary>
    public SupportedResponse? Capabilities
    {
        get => Volatile.Read(ref _capabilities);
        set
        {
            Volatile.Write(ref _capabilitySet, value is null ? null : new CapabilitySet(value));
            Volatile.Write(ref _capabilities, value);
        }
    }

    /// <summary>What the upstream supports, for routing; null while unknown.</summary>
    public CapabilitySet? CapabilitySet => Volatile.Read(ref _capabilitySet);

    public Uri Endpoint(FacilitatorOperation operation) => _endpoints[(int)operation];

    /// <summary>Closes the gate until <paramref name="until"/>: no trial request before then. Set on every failure,
    /// so the gate is already closed when a failure makes the upstream unhealthy.</summary>
    public void HoldTrialsUntil(DateTimeOffset until) => Volatile.Write(ref _nextTrialTicks, until.UtcTicks);

    /// <summary>
    /// Claims the single trial request allowed once the cool-down has passed; the claim moves the gate forward by
    /// <paramref name="cooldown"/> so concurrent requests do not all land on an upstream that may still be down.
    /// </summary>
    public bool TryClaimTrial(DateTimeOffset now, TimeSpan cooldown)
    {
        var due = Volatile.Read(ref _nextTrialTicks);
        return now.UtcTicks >= due && Interlocked.CompareExchange(ref _nextTrialTicks, (now + cooldown).UtcTicks, due) == due;
    }

    public void Dispose() => Invoker.Dispose();

    /// <summary>The connection pool of one upstream, set up for calls that must fail fast and never follow a redirect.</summary>
    public static SocketsHttpHandler CreateHandler(UpstreamDefinition definition) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        // Connection set-up must fail before the attempt times out, so that a settle that never reached the
        // upstream is recognised as such (a connect failure) and may move to the next upstream.
        ConnectTimeout = (definition.Timeout < definition.SettleTimeout ? definition.Timeout : definition.SettleTimeout) * 3 / 4,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
        EnableMultipleHttp2Connections = true,
        MaxConnectionsPerServer = definition.MaxConnections,

        // The caller's trace context (and baggage) is theirs: it reaches an upstream only where configured.
        ActivityHeadersPropagator = definition.PropagateTraceContext
            ? System.Diagnostics.DistributedContextPropagator.Current
            : System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator(),
    };
}
