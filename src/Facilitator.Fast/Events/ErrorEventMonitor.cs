using Facilitator.Fast.Routing;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Events;

/// <summary>
/// Feeds the <c>errors</c> channel: health transitions as the health store raises them (every instance sees every
/// transition, so each tells its own subscribers), and — polled about once a second, so a storm of failures is one
/// event per upstream per second — this instance's failed upstream attempts and Redis fallbacks, which the other
/// instances are sent too.
/// </summary>
internal sealed class ErrorEventMonitor : IDisposable
{
    private readonly EventHub _hub;
    private readonly IUpstreamHealthStore _health;
    private readonly RoutingTable _table;
    private readonly RedisConnection? _redis;
    private readonly string _instanceId;
    private readonly long[] _failures;
    private long _fallbacks;

    public ErrorEventMonitor(EventHub hub, IUpstreamHealthStore health, RoutingTable table, IEventFanOut fanOut, RedisConnection? redis = null)
    {
        _hub = hub;
        _health = health;
        _table = table;
        _redis = redis;
        _instanceId = fanOut.InstanceId;
        _failures = [.. table.All.Select(static u => u.Statistics.Failures)];
        _fallbacks = redis?.Fallbacks ?? 0;
        health.Transitioned += OnTransitioned;
    }

    /// <summary>Publishes what failed since the last call; the counts move on whether anybody listens or not.</summary>
    public void Poll()
    {
        var now = Now;
        var upstreams = _table.All;
        for (var i = 0; i < upstreams.Length; i++)
        {
            var failures = upstreams[i].Statistics.Failures;
            var added = failures - _failures[i];
            _failures[i] = failures;
            if (added > 0 && _hub.IsActive)
            {
                var health = _health.Read(upstreams[i].Id);
                _hub.Publish(new ErrorEvent(
                    ErrorEventKind.FacilitatorFailures, now, upstreams[i].Id, added, failures, health.ConsecutiveFailures, health.LastError, _instanceId));
            }
        }

        if (_redis is { } redis)
        {
            var fallbacks = redis.Fallbacks;
            var added = fallbacks - _fallbacks;
            _fallbacks = fallbacks;
            if (added > 0 && _hub.IsActive)
            {
                _hub.Publish(new ErrorEvent(ErrorEventKind.RedisFallback, now, count: added, total: fallbacks, instanceId: _instanceId));
            }
        }
    }

    public void Dispose() => _health.Transitioned -= OnTransitioned;

    private void OnTransitioned(string upstreamId, HealthTransition transition)
    {
        if (!_hub.IsActive)
        {
            return;
        }

        if (transition == HealthTransition.BecameUnhealthy)
        {
            var health = _health.Read(upstreamId);
            _hub.Publish(new ErrorEvent(
                ErrorEventKind.FacilitatorUnhealthy, Now, upstreamId, consecutiveFailures: health.ConsecutiveFailures, error: health.LastError));
        }
        else if (transition == HealthTransition.BecameHealthy)
        {
            _hub.Publish(new ErrorEvent(ErrorEventKind.FacilitatorRecovered, Now, upstreamId));
        }
    }

    private long Now => _hub.Time.GetUtcNow().ToUnixTimeMilliseconds();
}
