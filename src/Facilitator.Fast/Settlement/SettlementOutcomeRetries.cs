using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>
/// Writes of a settlement's outcome that failed because the store could not be reached, retried in the background
/// with a growing delay until they land, are refused (the claim was taken over), or an hour has passed. Until one
/// lands, the record shows the claim in flight at its upstream, so repeats ask that upstream only.
/// </summary>
public sealed partial class SettlementOutcomeRetries : IDisposable
{
    /// <summary>Retries kept at once; beyond it new outcomes are not retried (logged), and memory stays bounded.</summary>
    public const int Capacity = 10_000;

    /// <summary>
    /// Bytes the retries may hold at once (each keeps its record, with the upstream's answer of up to a megabyte):
    /// beyond it new outcomes are not retried (logged), so ten thousand large answers cannot hold gigabytes.
    /// </summary>
    public const long MaxRetainedBytes = 64L * 1024 * 1024;

    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromHours(1);
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LongestDelay = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time;
    private readonly ILogger<SettlementOutcomeRetries> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private int _pending;
    private long _retainedBytes;
    private long _landed;

    public SettlementOutcomeRetries(TimeProvider time, ILogger<SettlementOutcomeRetries> logger)
    {
        _time = time;
        _logger = logger;
    }

    /// <summary>Outcome writes still being retried.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Bytes the retries under way hold (as their callers stated).</summary>
    public long RetainedBytes => Interlocked.Read(ref _retainedBytes);

    /// <summary>Outcome writes that landed on a retry.</summary>
    public long Landed => Interlocked.Read(ref _landed);

    /// <summary>Retries <paramref name="write"/> (true: written; false: refused; throws while the store is away).</summary>
    /// <param name="retainedBytes">What <paramref name="write"/> holds until it is done (its record and the answer in it).</param>
    /// <param name="longestDelay">
    /// The longest wait between tries (at most 30 s): a claim's outcome is retried more often than its lease lasts, so
    /// once the store accepts writes again the outcome lands before another instance may take the lapsed claim over.
    /// </param>
    public void Schedule(Func<ValueTask<bool>> write, string outcome, string upstreamId, long retainedBytes, TimeSpan? longestDelay = null)
    {
        retainedBytes = Math.Max(retainedBytes, 0);
        if (Interlocked.Increment(ref _pending) > Capacity | Interlocked.Add(ref _retainedBytes, retainedBytes) > MaxRetainedBytes)
        {
            Interlocked.Decrement(ref _pending);
            Interlocked.Add(ref _retainedBytes, -retainedBytes);
            Dropped(_logger, outcome, upstreamId);
            return;
        }

        var longest = longestDelay is { } bound ? TimeSpan.FromTicks(Math.Clamp(bound.Ticks, FirstDelay.Ticks, LongestDelay.Ticks)) : LongestDelay;
        _ = RetryAsync(write, outcome, upstreamId, retainedBytes, longest);
    }

    private async Task RetryAsync(Func<ValueTask<bool>> write, string outcome, string upstreamId, long retainedBytes, TimeSpan longest)
    {
        var started = _time.GetTimestamp();
        var delay = FirstDelay;
        try
        {
            while (_time.GetElapsedTime(started) < GiveUpAfter)
            {
                await Task.Delay(delay, _time, _stopping.Token).ConfigureAwait(false);
                try
                {
                    if (await write().ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref _landed);
                        Recorded(_logger, outcome, upstreamId);
                    }

                    return;
                }
                catch (SettlementLedgerUnavailableException)
                {
                    delay = delay * 2 > longest ? longest : delay * 2;
                }
            }

            Abandoned(_logger, outcome, upstreamId);
        }
        catch (OperationCanceledException)
        {
            Abandoned(_logger, outcome, upstreamId);
        }
        finally
        {
            Interlocked.Add(ref _retainedBytes, -retainedBytes);
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 1220, Level = LogLevel.Information, Message = "Settlement {Outcome} at {UpstreamId} recorded on a retry")]
    private static partial void Recorded(ILogger logger, string outcome, string upstreamId);

    [LoggerMessage(EventId = 1221, Level = LogLevel.Error, Message = "Settlement {Outcome} at {UpstreamId} could not be recorded; repeats will ask that upstream again")]
    private static partial void Abandoned(ILogger logger, string outcome, string upstreamId);

    [LoggerMessage(EventId = 1222, Level = LogLevel.Error, Message = "Settlement {Outcome} at {UpstreamId} not retried: too many outcome writes are waiting for the ledger")]
    private static partial void Dropped(ILogger logger, string outcome, string upstreamId);
}
