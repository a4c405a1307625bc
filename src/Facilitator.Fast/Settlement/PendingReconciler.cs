using System.Collections.Concurrent;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>A settlement left pending at an upstream, with what is needed to ask that upstream again.</summary>
/// <param name="Request">The settle request's bytes, sent again unchanged (CDP and PayAI answer an identical payload with its outcome).</param>
public sealed record PendingSettlement(SettlementIdentity Identity, byte[] Request, string HolderId)
{
    public int Attempts { get; init; }

    public long DueAtTicks { get; init; }
}

/// <summary>
/// Learns the outcome of settlements left pending: re-asks the upstream that holds each one with the identical request,
/// with a growing delay, until it reports an outcome or the authorization has expired (an expired authorization can no
/// longer be executed, though an earlier attempt may have been). A settlement this instance saw become pending is
/// tracked here; a repeat of the settle on any instance retries it too.
/// </summary>
/// <remarks>
/// The re-ask goes through the ledger like a repeat does — a retry claim bound to the holder — so it never reaches
/// another upstream, never runs twice at once across instances, and finishes the record only on a success.
/// </remarks>
public sealed partial class PendingReconciler : IHostedService, IDisposable
{
    /// <summary>Pending settlements tracked at once; beyond it new ones are not tracked (a repeat still retries them).</summary>
    public const int Capacity = 10_000;

    private static readonly TimeSpan LongestDelay = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<Sha256Hash, PendingSettlement> _pending = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _firstDelay;
    private readonly ILogger<PendingReconciler> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Func<PendingSettlement, ValueTask<bool>>? _reconcile;
    private Task? _loop;
    private long _resolved;

    public PendingReconciler(SettlementPolicy policy, TimeProvider time, ILogger<PendingReconciler> logger)
    {
        _time = time;
        _firstDelay = policy.ReconcileAfter;
        _logger = logger;
    }

    public int Count => _pending.Count;

    /// <summary>Pending settlements whose outcome a re-ask found.</summary>
    public long Resolved => Interlocked.Read(ref _resolved);

    /// <summary>Sets what re-asks one settlement (true when it is no longer pending); the coordinator provides it.</summary>
    internal void Attach(Func<PendingSettlement, ValueTask<bool>> reconcile) => _reconcile = reconcile;

    /// <summary>Tracks a settlement that became pending at <paramref name="holderId"/> (once; its schedule is kept).</summary>
    public void Track(SettlementIdentity identity, ReadOnlySpan<byte> request, string holderId)
    {
        if (_pending.ContainsKey(identity.Key))
        {
            return;
        }

        if (_pending.Count >= Capacity)
        {
            NotTracked(_logger, holderId);
            return;
        }

        _pending.TryAdd(identity.Key, new PendingSettlement(identity, request.ToArray(), holderId) { DueAtTicks = (_time.GetUtcNow() + _firstDelay).UtcTicks });
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = RunAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var tick = _firstDelay < TimeSpan.FromSeconds(1) ? _firstDelay : TimeSpan.FromSeconds(1);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(tick, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var now = _time.GetUtcNow();
            foreach (var (key, entry) in _pending)
            {
                if (entry.DueAtTicks > now.UtcTicks || _reconcile is null)
                {
                    continue;
                }

                await ReconcileOneAsync(key, entry, now).ConfigureAwait(false);
            }
        }
    }

    private async Task ReconcileOneAsync(Sha256Hash key, PendingSettlement entry, DateTimeOffset now)
    {
        var expired = entry.Identity.ValidBeforeSeconds != 0
            && (ulong)now.ToUnixTimeSeconds() > entry.Identity.ValidBeforeSeconds + (ulong)SettlementPolicy.ExpiryMargin.TotalSeconds;
        try
        {
            if (await _reconcile!(entry).ConfigureAwait(false))
            {
                _pending.TryRemove(new KeyValuePair<Sha256Hash, PendingSettlement>(key, entry));
                Interlocked.Increment(ref _resolved);
                return;
            }
        }
        catch (Exception ex) when (ex is SettlementLedgerUnavailableException or HttpRequestException or OperationCanceledException)
        {
            ReconcileFailed(_logger, entry.HolderId, ex.GetType().Name);
        }

        if (expired)
        {
            // The authorization can no longer execute: asking again learns nothing an earlier answer did not.
            _pending.TryRemove(new KeyValuePair<Sha256Hash, PendingSettlement>(key, entry));
            GaveUp(_logger, entry.HolderId);
            return;
        }

        var next = entry with { Attempts = entry.Attempts + 1, DueAtTicks = (now + Delay(entry.Attempts + 1)).UtcTicks };
        _pending.TryUpdate(key, next, entry);
    }

    private TimeSpan Delay(int attempts)
    {
        var delay = _firstDelay * Math.Pow(2, Math.Min(attempts, 16));
        return delay > LongestDelay ? LongestDelay : delay;
    }

    public void Dispose() => _stopping.Dispose();

    [LoggerMessage(EventId = 1240, Level = LogLevel.Warning, Message = "A settlement pending at {UpstreamId} is not tracked for reconciliation: too many are pending")]
    private static partial void NotTracked(ILogger logger, string upstreamId);

    [LoggerMessage(EventId = 1241, Level = LogLevel.Warning, Message = "Re-asking {UpstreamId} about a pending settlement failed ({Failure}); trying again later")]
    private static partial void ReconcileFailed(ILogger logger, string upstreamId, string failure);

    [LoggerMessage(EventId = 1242, Level = LogLevel.Warning, Message = "A settlement pending at {UpstreamId} is still unresolved after its authorization expired; it stays pending (repeats are answered so)")]
    private static partial void GaveUp(ILogger logger, string upstreamId);
}
