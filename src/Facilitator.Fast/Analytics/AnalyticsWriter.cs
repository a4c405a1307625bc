using Facilitator.Fast.State;

namespace Facilitator.Fast.Analytics;

/// <summary>
/// Drains <see cref="SettlementAnalytics"/>' queue into the <see cref="IAnalyticsStore"/>, one sample at a time, off the
/// settle path. A Redis fault is retried with a doubling back-off a few times (about 1.5 s in all) and the sample is then
/// dropped and counted: analytics are best-effort and must never hold memory without bound while Redis is away.
/// </summary>
/// <remarks>
/// At stop, registered before the settlement drain so it stops after it, the queue is closed and what it holds is
/// written, unless the host's stop deadline passes first.
/// </remarks>
internal sealed partial class AnalyticsWriter(
    SettlementAnalytics analytics, IAnalyticsStore store, TimeProvider time, ILogger<AnalyticsWriter> logger) : IHostedService
{
    /// <summary>Tries per sample before it is dropped.</summary>
    public const int MaxAttempts = 5;

    private static readonly TimeSpan s_firstBackoff = TimeSpan.FromMilliseconds(100);

    private readonly CancellationTokenSource _abort = new();
    private Task _loop = Task.CompletedTask;
    private long _written;

    /// <summary>Samples the store has counted.</summary>
    public long Written => Interlocked.Read(ref _written);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_abort.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        analytics.Complete();
        using (cancellationToken.Register(_abort.Cancel))
        {
            await _loop.ConfigureAwait(false);
        }

        _abort.Dispose();
    }

    private async Task RunAsync(CancellationToken token)
    {
        var samples = analytics.Samples;
        try
        {
            while (await samples.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (samples.TryRead(out var sample))
                {
                    await WriteAsync(sample, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            var left = 0;
            while (samples.TryRead(out _))
            {
                left++;
            }

            if (left > 0)
            {
                analytics.Drop(left, "the service stopped before they were written");
            }
        }
    }

    private async Task WriteAsync(AnalyticsSample sample, CancellationToken token)
    {
        var delay = s_firstBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (await store.AddAsync(sample).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref _written);
                }
                else
                {
                    analytics.Drop(1, $"more than {AnalyticsBuckets.MaxSeries} (network, asset) pairs");
                }

                return;
            }
            catch (Exception ex) when (RedisConnection.IsFault(ex) && attempt < MaxAttempts)
            {
                await Task.Delay(delay, time, token).ConfigureAwait(false);
                delay *= 2;
            }
            catch (Exception ex) when (RedisConnection.IsFault(ex))
            {
                analytics.Drop(1, "the analytics store (Redis) could not be reached");
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                WriteFailed(logger, ex);
                analytics.Drop(1, "the analytics store failed");
                return;
            }
        }
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Error, Message = "[Analytics] a settlement sample could not be counted; it is dropped")]
    private static partial void WriteFailed(ILogger logger, Exception exception);
}
