namespace Facilitator.Fast.Settlement;

/// <summary>
/// Graceful shutdown for settles: once the host begins to stop, new settles are refused (503, nothing sent, retry
/// elsewhere) and the stop waits — up to <see cref="SettlementPolicy.Drain"/> — for those in flight and for outcome
/// writes still being retried, so a deploy does not leave settlements half-recorded.
/// </summary>
public sealed partial class SettlementDrain : IHostedService
{
    private static readonly TimeSpan RetryGrace = TimeSpan.FromSeconds(5);

    private readonly SettlementPolicy _policy;
    private readonly SettlementOutcomeRetries _retries;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly TimeProvider _time;
    private readonly ILogger<SettlementDrain> _logger;
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private int _draining;

    public SettlementDrain(
        SettlementPolicy policy, SettlementOutcomeRetries retries, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<SettlementDrain> logger)
    {
        _policy = policy;
        _retries = retries;
        _lifetime = lifetime;
        _time = time;
        _logger = logger;
    }

    /// <summary>True once shutdown began: readiness fails and new settles are refused.</summary>
    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Admits a settle; false while draining.</summary>
    public bool TryEnter()
    {
        Interlocked.Increment(ref _inFlight);
        if (IsDraining)
        {
            Exit();
            return false;
        }

        return true;
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && IsDraining)
        {
            _idle.TrySetResult();
        }
    }

    /// <summary>Stops admitting settles.</summary>
    public void Begin()
    {
        if (Interlocked.Exchange(ref _draining, 1) == 0 && InFlight == 0)
        {
            _idle.TrySetResult();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _lifetime.ApplicationStopping.Register(Begin);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Begin();
        var started = _time.GetTimestamp();
        var waiting = InFlight;
        if (waiting > 0)
        {
            Draining(_logger, waiting, _policy.Drain.TotalSeconds);
        }

        try
        {
            await _idle.Task.WaitAsync(_policy.Drain, _time, cancellationToken).ConfigureAwait(false);

            // Outcome writes still retrying wait for a store that is away: a few seconds, then their claims lapse.
            var retriesUntil = _time.GetElapsedTime(started) + RetryGrace;
            while (_retries.Pending > 0 && _time.GetElapsedTime(started) < (retriesUntil < _policy.Drain ? retriesUntil : _policy.Drain))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            DrainCut(_logger, InFlight, _retries.Pending);
        }
    }

    [LoggerMessage(EventId = 1230, Level = LogLevel.Information, Message = "Shutting down: waiting up to {Seconds} s for {Count} settles in flight (new settles are refused)")]
    private static partial void Draining(ILogger logger, int count, double seconds);

    [LoggerMessage(EventId = 1231, Level = LogLevel.Warning, Message = "Shutdown drain ended with {InFlight} settles in flight and {Retries} outcome writes unrecorded; their claims lapse and repeats ask the named upstream only")]
    private static partial void DrainCut(ILogger logger, int inFlight, int retries);
}
