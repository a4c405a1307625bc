namespace Facilitator.Fast.State;

/// <summary>
/// Stops callers from waiting on a Redis that does not answer. A hung Redis (a stopped process, a saturated link)
/// keeps its connection up, so every command waits for the full timeout; after one such failure, callers that have a
/// local fallback use it at once for a back-off window (5 s, doubling up to 30 s while Redis keeps failing), and when
/// the window has passed one call at a time — the probe — tries Redis again. A probe that succeeds ends it.
/// </summary>
public sealed partial class RedisFailFast
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private volatile bool _failing;
    private TimeSpan _backoff = FirstBackoff;
    private DateTimeOffset _retryAt;
    private bool _probing;

    public RedisFailFast(TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
    }

    /// <summary>True from a failure until a probe succeeds: callers use their local fallback instead of Redis.</summary>
    public bool IsFailingFast => _failing;

    /// <summary>The current back-off window between probes.</summary>
    public TimeSpan Backoff
    {
        get
        {
            lock (_lock)
            {
                return _backoff;
            }
        }
    }

    /// <summary>
    /// Whether the caller may use Redis now: always while Redis answers; while failing fast, only the one caller that
    /// becomes the probe once the window has passed (<paramref name="probe"/> true). Every caller given true must
    /// report how it went to <see cref="Report"/>.
    /// </summary>
    public bool TryUse(out bool probe)
    {
        probe = false;
        if (!_failing)
        {
            return true;
        }

        lock (_lock)
        {
            if (!_failing)
            {
                return true;
            }

            if (_probing || _time.GetUtcNow() < _retryAt)
            {
                return false;
            }

            _probing = true;
            probe = true;
            return true;
        }
    }

    /// <summary>Reports a call to Redis: a failure starts (or, for a probe, lengthens) the window; a probe that succeeded ends it.</summary>
    public void Report(bool succeeded, bool probe)
    {
        if (succeeded && !probe)
        {
            return;
        }

        lock (_lock)
        {
            if (succeeded)
            {
                _probing = false;
                _failing = false;
                _backoff = FirstBackoff;
                Recovered(_logger);
                return;
            }

            if (probe)
            {
                _probing = false;
                _backoff = _backoff * 2 > MaxBackoff ? MaxBackoff : _backoff * 2;
            }
            else if (_failing)
            {
                // A call that began before the failure was seen: the window already runs.
                return;
            }
            else
            {
                _failing = true;
                _backoff = FirstBackoff;
            }

            _retryAt = _time.GetUtcNow() + _backoff;
            FailingFast(_logger, (int)_backoff.TotalSeconds);
        }
    }

    [LoggerMessage(EventId = 4030, Level = LogLevel.Warning, Message = "Redis did not answer in time: rate limits use this instance's local buckets for {Seconds} s, then one request tries Redis again")]
    private static partial void FailingFast(ILogger logger, int seconds);

    [LoggerMessage(EventId = 4031, Level = LogLevel.Information, Message = "Redis answers again: rate limits use the shared buckets")]
    private static partial void Recovered(ILogger logger);
}
