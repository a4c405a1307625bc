using Facilitator.Fast.State;

namespace Facilitator.Fast.Events;

/// <summary>
/// Runs the event stream: the hub's pump, <c>stats:update</c> every <c>StatsIntervalMs</c> (only while somebody
/// subscribes to <c>stats</c>), and a housekeeping round that polls the <c>errors</c> sources and closes connections
/// that never subscribed, whose send stalled, or whose close the peer never completed. When the host begins to stop,
/// every client is sent close 1001; the stop waits for them briefly and cuts the rest.
/// </summary>
internal sealed partial class EventsService(
    EventHub hub,
    EventsSettings settings,
    IEventFanOut fanOut,
    ErrorEventMonitor errors,
    IHostApplicationLifetime lifetime,
    ILogger<EventsService> logger,
    IStatsEventSource? stats = null) : BackgroundService
{
    private static readonly TimeSpan ErrorPollInterval = TimeSpan.FromSeconds(1);

    private readonly EventsOptions _options = settings.Options;
    private long _lastStatsFailureLogged = long.MinValue;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (hub.Enabled)
        {
            lifetime.ApplicationStopping.Register(hub.BeginStopping);
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (hub.Enabled)
        {
            hub.BeginStopping();
            try
            {
                await hub.Drained.WaitAsync(EventConnection.CloseTimeout, hub.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                foreach (var subscriber in hub.Subscribers())
                {
                    subscriber.Abort();
                }
            }
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!hub.Enabled)
        {
            return;
        }

        // The pump runs before the subscription to other instances is made (which waits for Redis when it is away).
        var pump = hub.RunAsync(stoppingToken);
        await Task.WhenAll(pump, fanOut.StartAsync(hub.Receive), StatsAsync(stoppingToken), HousekeepingAsync(stoppingToken)).ConfigureAwait(false);
    }

    private async Task StatsAsync(CancellationToken stoppingToken)
    {
        if (stats is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.StatsIntervalMs), hub.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!hub.Subscribers().Any(static s => (s.State.Channels & EventChannel.Stats) != 0))
                {
                    continue;
                }

                try
                {
                    if (await stats.ReadAsync(stoppingToken).ConfigureAwait(false) is { } data)
                    {
                        hub.Publish(new StatsEvent(data, hub.Time.GetUtcNow().ToUnixTimeMilliseconds()));
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException && (RedisConnection.IsFault(ex) || ex is InvalidOperationException))
                {
                    var now = hub.Time.GetTimestamp();
                    if (_lastStatsFailureLogged == long.MinValue || hub.Time.GetElapsedTime(_lastStatsFailureLogged, now) > TimeSpan.FromMinutes(1))
                    {
                        _lastStatsFailureLogged = now;
                        StatsFailed(logger, ex.GetType().Name);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task HousekeepingAsync(CancellationToken stoppingToken)
    {
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(_options.SubscribeTimeoutMs > 0 ? _options.SubscribeTimeoutMs / 4 : 1000, 50, 1000));
        using var timer = new PeriodicTimer(tick, hub.Time);
        var lastPoll = hub.Time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (hub.Time.GetElapsedTime(lastPoll) >= ErrorPollInterval)
                {
                    lastPoll = hub.Time.GetTimestamp();
                    errors.Poll();
                }

                foreach (var subscriber in hub.Subscribers())
                {
                    Inspect(subscriber);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Closes what must not stay: a send that stalled, a close the peer never completed, a client that never subscribed.</summary>
    private void Inspect(Subscriber subscriber)
    {
        var time = hub.Time;
        if (subscriber.SendStartedAt is var started and not 0 && time.GetElapsedTime(started) > TimeSpan.FromMilliseconds(_options.SendTimeoutMs))
        {
            // The peer stopped reading: not even a close frame can reach it.
            if (subscriber.Closing is null)
            {
                hub.Statistics.CountSlowClosed();
            }

            subscriber.RequestClose(CloseRequest.TryAgainLater, "too slow: a send stalled", flush: false);
            subscriber.Abort();
            SendStalled(logger, subscriber.ClientId, _options.SendTimeoutMs);
            return;
        }

        if (subscriber.Closing is { } closing)
        {
            if (time.GetElapsedTime(closing.At) > EventConnection.CloseTimeout)
            {
                subscriber.Abort();
            }

            return;
        }

        if (!subscriber.HasSubscribed && _options.SubscribeTimeoutMs > 0
            && time.GetElapsedTime(subscriber.ConnectedAt) > TimeSpan.FromMilliseconds(_options.SubscribeTimeoutMs))
        {
            subscriber.RequestClose(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, "no subscribe within Events:SubscribeTimeoutMs");
        }
    }

    [LoggerMessage(EventId = 6030, Level = LogLevel.Warning, Message = "[Events] stats:update could not be built ({ExceptionType}); retried at the next interval")]
    private static partial void StatsFailed(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 6031, Level = LogLevel.Information, Message = "[Events] client {ClientId}: a send made no progress for {TimeoutMs} ms (Events:SendTimeoutMs); the connection was cut")]
    private static partial void SendStalled(ILogger logger, string clientId, int timeoutMs);
}
