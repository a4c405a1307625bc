using Facilitator.Fast.Routing;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Health;

/// <summary>
/// The analytics' uptime: the share of the time since this instance started during which at least one routable upstream
/// was healthy — the time the gateway could serve payments. Health transitions are observed as they happen (the store's
/// event, whichever instance saw them), so no polling and no per-request cost.
/// </summary>
/// <remarks>Per instance, since its start: an instance started later does not know what happened before it.</remarks>
internal sealed class UptimeTracker : IHostedService, IDisposable
{
    private readonly RoutingTable _table;
    private readonly IUpstreamHealthStore _health;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private DateTimeOffset _start;
    private DateTimeOffset _last;
    private TimeSpan _up;
    private bool _serving;
    private bool _started;

    public UptimeTracker(RoutingTable table, IUpstreamHealthStore health, TimeProvider time)
    {
        _table = table;
        _health = health;
        _time = time;
    }

    /// <summary>Time since this instance started tracking (its start).</summary>
    public TimeSpan Elapsed
    {
        get
        {
            lock (_gate)
            {
                EnsureStarted();
                return _time.GetUtcNow() - _start;
            }
        }
    }

    /// <summary>The share of <see cref="Elapsed"/> with a healthy upstream, in percent (100 at the very start if one is healthy).</summary>
    public double Percentage
    {
        get
        {
            lock (_gate)
            {
                EnsureStarted();
                Observe();
                var elapsed = _last - _start;
                return elapsed <= TimeSpan.Zero ? (_serving ? 100 : 0) : Math.Clamp(100.0 * _up.Ticks / elapsed.Ticks, 0, 100);
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            EnsureStarted();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _health.Transitioned -= OnTransitioned;

    private void EnsureStarted()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        _start = _last = _time.GetUtcNow();
        _serving = AnyHealthy();
        _health.Transitioned += OnTransitioned;
    }

    private void OnTransitioned(string upstreamId, HealthTransition transition)
    {
        lock (_gate)
        {
            Observe();
        }
    }

    /// <summary>Counts the time since the last observation as up if it was, then takes the current state.</summary>
    private void Observe()
    {
        var now = _time.GetUtcNow();
        if (_serving && now > _last)
        {
            _up += now - _last;
        }

        _last = now > _last ? now : _last;
        _serving = AnyHealthy();
    }

    private bool AnyHealthy()
    {
        foreach (var route in _table.Current.Routes)
        {
            if (_health.IsHealthy(route.Upstream.Id))
            {
                return true;
            }
        }

        return false;
    }
}
