using Facilitator.Fast.State;

namespace Facilitator.Fast.Routing;

/// <summary>
/// Owns the upstreams and the current <see cref="RoutingSnapshot"/>, and builds a new snapshot whenever the health
/// store reports a transition. Readers take <see cref="Current"/> with one volatile read; no lock anywhere.
/// </summary>
/// <remarks>
/// Snapshots are built from the store's current state and carry the store's version; a snapshot only replaces one
/// built from an older version, so two transitions racing each other cannot leave a stale table in place.
/// </remarks>
public sealed class RoutingTable : IDisposable
{
    private readonly IUpstreamHealthStore _health;
    private readonly ILogger<RoutingTable> _logger;
    private readonly bool _failoverEnabled;
    private readonly TimeSpan _cooldown;
    private RoutingSnapshot _current;

    public RoutingTable(
        RoutingConfiguration configuration,
        IUpstreamHealthStore health,
        ILogger<RoutingTable> logger,
        Func<UpstreamDefinition, HttpMessageHandler>? handlerFactory = null,
        TimeProvider? time = null)
    {
        _health = health;
        _logger = logger;
        _failoverEnabled = configuration.Aggregator.Enabled;
        _cooldown = TimeSpan.FromMilliseconds(configuration.Aggregator.UnhealthyCooldownMs);
        var factory = handlerFactory ?? Upstream.CreateHandler;
        All = [.. configuration.Upstreams.Select(d => new Upstream(d, factory(d), time))];
        _current = Build();
        _health.Transitioned += OnTransitioned;
    }

    /// <summary>Every configured upstream, enabled or not, in priority order.</summary>
    public Upstream[] All { get; }

    public RoutingSnapshot Current => Volatile.Read(ref _current);

    public Upstream? Find(string id) => Array.Find(All, u => string.Equals(u.Id, id, StringComparison.OrdinalIgnoreCase));

    private void OnTransitioned(string upstreamId, HealthTransition transition)
    {
        var upstream = Find(upstreamId);
        if (transition == HealthTransition.BecameUnhealthy)
        {
            // Whether this instance or another observed it, no trial request before the cool-down has passed.
            upstream?.HoldTrialsUntil((_health.Read(upstreamId).UnhealthySince ?? DateTimeOffset.UtcNow) + _cooldown);
        }

        Refresh();
        upstream?.Statistics.RecordTransition(transition == HealthTransition.BecameHealthy);
        if (transition == HealthTransition.BecameUnhealthy)
        {
            var health = _health.Read(upstreamId);
            RoutingLog.MarkedUnhealthy(_logger, upstreamId, health.ConsecutiveFailures, health.LastError ?? "");
        }
        else
        {
            RoutingLog.MarkedHealthy(_logger, upstreamId);
        }
    }

    /// <summary>Rebuilds the snapshot from the health store unless a newer one is already in place.</summary>
    public void Refresh()
    {
        while (true)
        {
            var current = Volatile.Read(ref _current);
            var next = Build();
            if (next.HealthVersion < current.HealthVersion)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _current, next, current) == current)
            {
                return;
            }
        }
    }

    private RoutingSnapshot Build()
    {
        var version = _health.Version;
        var enabled = All.Where(static u => u.Definition.Enabled);
        if (!_failoverEnabled)
        {
            enabled = enabled.Take(1);
        }

        var routes = enabled.Select(u => new UpstreamRoute(u, _health.IsHealthy(u.Id))).ToArray();
        return new RoutingSnapshot(routes, _failoverEnabled, version);
    }

    public void Dispose()
    {
        _health.Transitioned -= OnTransitioned;
        foreach (var upstream in All)
        {
            upstream.Dispose();
        }
    }
}
