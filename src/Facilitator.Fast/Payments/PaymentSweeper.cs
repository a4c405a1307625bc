using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Looks after open payments, on every instance: each interval it takes the payments that are due from the shared queue
/// (each is taken by one instance, for as long as a settle can take) and settles a verified one when automatic
/// settlement is on, asks again the upstream holding a pending one, and marks expired one whose <c>validBefore</c>
/// passed unsettled. Every settle goes through <see cref="PaymentSettler"/>, so a payment settled by hand meanwhile is
/// never settled twice.
/// </summary>
public sealed partial class PaymentSweeper(
    PaymentService payments, PaymentSettler settler, SettlementPolicy settlement, TimeProvider time, ILogger<PaymentSweeper> logger) : BackgroundService
{
    private long _lastFailureLogged;

    /// <summary>Longer than any settle, so a payment is not taken by another instance while this one settles it.</summary>
    private TimeSpan Lease => settlement.LongestSettle + TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = payments.Settings;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(settings.SweepInterval, time, stoppingToken).ConfigureAwait(false);
                await SweepOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is PaymentStoreUnavailableException or SettlementLedgerUnavailableException)
            {
                var now = time.GetTimestamp();
                if (time.GetElapsedTime(Interlocked.Read(ref _lastFailureLogged), now) > TimeSpan.FromMinutes(1))
                {
                    Interlocked.Exchange(ref _lastFailureLogged, now);
                    SweepFailed(logger, ex.Message);
                }
            }
        }
    }

    /// <summary>One round: what is due now, handled concurrently, at most <c>BatchSize</c> payments.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken stoppingToken)
    {
        var due = await payments.Store.TakeDueAsync(payments.Settings.BatchSize, Lease).ConfigureAwait(false);
        if (due.Count == 0)
        {
            return 0;
        }

        await Task.WhenAll(due.Select(id => HandleAsync(id, stoppingToken))).ConfigureAwait(false);
        return due.Count;
    }

    private async Task HandleAsync(Guid id, CancellationToken stoppingToken)
    {
        var record = await payments.GetAsync(id).ConfigureAwait(false);
        if (record is null || !record.IsOpen)
        {
            await payments.Store.CompleteAsync(id).ConfigureAwait(false);
            return;
        }

        if (record.Status == PaymentStatus.Verified && !payments.Settings.AutoSettle)
        {
            // Not due for settlement; taken early (clocks differ by a little): due again after the lease.
            return;
        }

        // A settle this caller owns runs to its end whatever the token says; the token only ends a wait for another's.
        var outcome = await settler.SettleAsync(id, stoppingToken).ConfigureAwait(false);
        if (outcome.Record is { } settled && !settled.IsOpen)
        {
            await payments.Store.CompleteAsync(id).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 1310, Level = LogLevel.Warning, Message = "[Payments] the sweep of open payments failed and is retried: {Reason}")]
    private static partial void SweepFailed(ILogger logger, string reason);
}
