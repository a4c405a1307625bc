namespace Facilitator.Fast.Routing;

/// <summary>
/// The routing table at one moment: the enabled upstreams in priority order with their health. Immutable; the
/// <see cref="RoutingTable"/> replaces it whole, and a request reads it once and routes by it.
/// </summary>
public sealed class RoutingSnapshot
{
    public RoutingSnapshot(UpstreamRoute[] routes, bool failoverEnabled, long healthVersion)
    {
        Routes = routes;
        FailoverEnabled = failoverEnabled;
        HealthVersion = healthVersion;
    }

    /// <summary>Enabled upstreams, by priority; with failover off, only the first enabled one.</summary>
    public UpstreamRoute[] Routes { get; }

    public bool FailoverEnabled { get; }

    /// <summary>The health store's version this snapshot reflects.</summary>
    public long HealthVersion { get; }
}

/// <summary>An upstream as one snapshot sees it.</summary>
public sealed record UpstreamRoute(Upstream Upstream, bool IsHealthy);
