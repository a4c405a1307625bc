using Facilitator.Fast.State;

namespace Facilitator.Fast.Health;

/// <summary>
/// Probes the upstreams at start and then every interval, so an unhealthy upstream comes back as soon as it answers
/// again and capabilities are known before traffic needs them. Only the instance that takes the probe lock probes.
/// </summary>
/// <remarks>
/// What a probe is (<c>GET /supported</c> under the upstream's timeout, recorded in health and capabilities) belongs
/// to routing and is given as a delegate; this type owns when and by whom probes happen.
/// </remarks>
public sealed partial class ActiveHealthMonitor : BackgroundService
{
    private readonly TimeSpan _interval;
    private readonly IProbeLock _lock;
    private readonly Func<Task> _probeAll;
    private readonly TimeProvider _time;
    private readonly ILogger<ActiveHealthMonitor> _logger;

    public ActiveHealthMonitor(TimeSpan interval, IProbeLock probeLock, Func<Task> probeAll, TimeProvider time, ILogger<ActiveHealthMonitor> logger)
    {
        _interval = interval;
        _lock = probeLock;
        _probeAll = probeAll;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval, _time);
        do
        {
            try
            {
                if (await _lock.TryAcquireAsync(_interval * 0.9, stoppingToken).ConfigureAwait(false))
                {
                    await _probeAll().WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                ProbeRoundFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "A health-probe round failed; the next interval tries again")]
    private static partial void ProbeRoundFailed(ILogger logger, Exception exception);
}
