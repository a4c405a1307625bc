using Facilitator.Fast.Routing;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>
/// A settlement the caller owns, as a lease: it names each upstream before an attempt leaves, renews the lease while
/// the upstream works, and ends as finished, pending or released. Every change goes through
/// <see cref="SettlementTransitions"/> against the record last written, so a claim that lapsed and was taken over
/// cannot change what its successor wrote, nor send the settlement to another upstream.
/// </summary>
public sealed partial class SettlementClaim : ISettleAttemptGate
{
    private const int MaxConflicts = 8;

    private readonly SettlementLedger _ledger;
    private readonly ISettlementStore _store;
    private readonly SettlementIdentity _identity;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private StoredSettlement _known;
    private long _knownAt;
    private string? _upstream;
    private int _lost;
    private CancellationTokenSource? _renewal;
    private Task? _renewing;

    internal SettlementClaim(SettlementLedger ledger, ISettlementStore store, SettlementIdentity identity, string claimId, StoredSettlement written)
    {
        _ledger = ledger;
        _store = store;
        _identity = identity;
        ClaimId = claimId;
        _known = written;
        _knownAt = ledger.Time.GetTimestamp();
        _upstream = written.Record!.UpstreamId;
        IsRetry = written.Record.Retry;
    }

    public string ClaimId { get; }

    /// <summary>A retry of a settlement pending at <see cref="Upstream"/>, which is the only upstream it may reach.</summary>
    public bool IsRetry { get; }

    /// <summary>The upstream named last: where the settlement is, or may be.</summary>
    public string? Upstream => Volatile.Read(ref _upstream);

    /// <summary>The transaction an upstream named for this settlement while it was pending, if one did.</summary>
    public string? Transaction => _known.Record?.Transaction;

    /// <summary>The lease lapsed and another caller took the settlement over: this claim may change nothing more.</summary>
    public bool Lost => Volatile.Read(ref _lost) != 0;

    private long LeaseMs => (long)_ledger.Policy.Lease.TotalMilliseconds;

    public async ValueTask<bool> BeforeAttemptAsync(Upstream upstream)
    {
        if (Lost)
        {
            return false;
        }

        if (string.Equals(Upstream, upstream.Id, StringComparison.Ordinal))
        {
            return true;
        }

        try
        {
            var id = upstream.Id;
            if (!await ApplyAsync((current, now) => SettlementTransitions.Assign(current, ClaimId, id, now, LeaseMs), notify: false).ConfigureAwait(false))
            {
                Interlocked.Exchange(ref _lost, 1);
                return false;
            }

            Volatile.Write(ref _upstream, id);
            return true;
        }
        catch (SettlementLedgerUnavailableException ex)
        {
            NotNamed(_ledger.Logger, upstream.Id, ex.Message);
            return false;
        }
    }

    /// <summary>Renews the lease every third of its length until <see cref="StopRenewingAsync"/>.</summary>
    public void StartRenewing()
    {
        _renewal = new CancellationTokenSource();
        var token = _renewal.Token;
        _renewing = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(_ledger.Policy.RenewEvery, _ledger.Time, token).ConfigureAwait(false);
                    if (!await ApplyAsync((current, now) => SettlementTransitions.Renew(current, ClaimId, now, LeaseMs), notify: false).ConfigureAwait(false))
                    {
                        Interlocked.Exchange(ref _lost, 1);
                        LeaseLost(_ledger.Logger, Upstream ?? "none");
                        return;
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (SettlementLedgerUnavailableException ex)
                {
                    // The lease may lapse meanwhile; then a repeat retries the named upstream only, which is safe.
                    RenewalFailed(_ledger.Logger, ex.Message);
                }
            }
        });
    }

    public async ValueTask StopRenewingAsync()
    {
        if (_renewal is null)
        {
            return;
        }

        await _renewal.CancelAsync().ConfigureAwait(false);
        await _renewing!.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _renewal.Dispose();
        _renewal = null;
    }

    /// <summary>Records the upstream's answer.</summary>
    public ValueTask FinishAsync(string upstreamId, bool success, int statusCode, string? contentType, byte[] body, string? extensionResponses = null) =>
        EndAsync(
            (current, now) => SettlementTransitions.Finish(current, ClaimId, _identity.Fingerprint, upstreamId, success, statusCode, contentType, body, now, extensionResponses),
            success ? "finished (success)" : "finished (failure)",
            upstreamId,
            RecordOverheadBytes + body.LongLength + 2L * ((contentType?.Length ?? 0) + (extensionResponses?.Length ?? 0)));

    /// <summary>Records that <paramref name="upstreamId"/> may have processed the settlement and its outcome is unknown.</summary>
    public ValueTask MarkPendingAsync(string upstreamId, string? transaction = null) =>
        EndAsync((current, now) => SettlementTransitions.MarkPending(current, ClaimId, upstreamId, now, transaction), "pending", upstreamId, RecordOverheadBytes);

    /// <summary>Gives the settlement up: nothing was processed (a retry stays pending at its holder).</summary>
    public ValueTask ReleaseAsync() =>
        EndAsync((current, now) => SettlementTransitions.Release(current, ClaimId, now), "released", Upstream ?? "none", RecordOverheadBytes);

    /// <summary>What a retried end holds besides the upstream's answer: the closure, the claim and the record's fields.</summary>
    private const int RecordOverheadBytes = 1024;

    /// <summary>Applies the end of the claim; when the store cannot be written, keeps retrying in the background.</summary>
    /// <param name="retainedBytes">What a retry of it holds (see <see cref="SettlementOutcomeRetries.Schedule"/>).</param>
    private async ValueTask EndAsync(Func<SettlementRecord?, long, SettlementChange> transition, string outcome, string upstreamId, long retainedBytes)
    {
        try
        {
            if (!await ApplyAsync(transition, notify: true, ending: true).ConfigureAwait(false))
            {
                EndRefused(_ledger.Logger, outcome, upstreamId);
            }
        }
        catch (SettlementLedgerUnavailableException ex)
        {
            RecordDeferred(_ledger.Logger, outcome, upstreamId, ex.Message);
            if (ex.Unreachable)
            {
                await CopyUnwrittenAsync(transition).ConfigureAwait(false);
            }

            _ledger.Retries.Schedule(() => ApplyAsync(transition, notify: true, ending: true), outcome, upstreamId, retainedBytes, _ledger.Policy.Lease / 4);
        }
    }

    /// <summary>
    /// Gives the copy of the store's records (kept for the local fallback) the outcome the store could not take, so that
    /// a repeat here while the store is out of reach is answered from it rather than from the copy of this claim.
    /// </summary>
    private async ValueTask CopyUnwrittenAsync(Func<SettlementRecord?, long, SettlementChange> transition)
    {
        await _writing.WaitAsync().ConfigureAwait(false);
        try
        {
            var now = _known.NowMs + (long)_ledger.Time.GetElapsedTime(_knownAt).TotalMilliseconds;
            if (transition(_known.Record, now) is { Allowed: true, Next: { State: not SettlementState.InFlight } next })
            {
                await _ledger.CopyUnwrittenAsync(_identity.Key, next, _ledger.Policy.KeepFor(next, _identity, now)).ConfigureAwait(false);
            }
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>
    /// Applies <paramref name="transition"/> to the record last written (re-read after a conflict), with the store's
    /// clock estimated from its last reading. False when the transition is refused.
    /// </summary>
    /// <param name="ending">
    /// The transition ends the claim: refused on a record this claim already ended (a write Redis ran after its answer
    /// was lost, found by a retry), it counts as done.
    /// </param>
    internal async ValueTask<bool> ApplyAsync(Func<SettlementRecord?, long, SettlementChange> transition, bool notify, bool ending = false)
    {
        await _writing.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = _known;
            var now = current.NowMs + (long)_ledger.Time.GetElapsedTime(_knownAt).TotalMilliseconds;
            for (var attempt = 0; attempt < MaxConflicts; attempt++)
            {
                var change = transition(current.Record, now);
                if (!change.Allowed)
                {
                    return ending && attempt > 0 && current.Record is { State: not SettlementState.InFlight } ended && ended.ClaimId == ClaimId;
                }

                var keepFor = change.Next is null ? TimeSpan.Zero : _ledger.Policy.KeepFor(change.Next, _identity, now);
                var written = await _store.ReplaceAsync(_identity.Key, current, change.Next, keepFor, notify).ConfigureAwait(false);
                if (written is { } stored)
                {
                    _known = stored;
                    _knownAt = _ledger.Time.GetTimestamp();
                    return true;
                }

                current = await _store.ReadAsync(_identity.Key).ConfigureAwait(false);
                _known = current;
                _knownAt = _ledger.Time.GetTimestamp();
                now = current.NowMs;
            }

            return false;
        }
        finally
        {
            _writing.Release();
        }
    }

    [LoggerMessage(EventId = 1211, Level = LogLevel.Warning, Message = "Settle not sent to {UpstreamId}: the ledger could not record it ({Reason})")]
    private static partial void NotNamed(ILogger logger, string upstreamId, string reason);

    [LoggerMessage(EventId = 1212, Level = LogLevel.Warning, Message = "A settlement claim's lease lapsed and was taken over while {UpstreamId} had it; this instance changes nothing more")]
    private static partial void LeaseLost(ILogger logger, string upstreamId);

    [LoggerMessage(EventId = 1213, Level = LogLevel.Warning, Message = "A settlement claim's lease could not be renewed ({Reason})")]
    private static partial void RenewalFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1214, Level = LogLevel.Warning, Message = "Settlement {Outcome} at {UpstreamId} not recorded: the claim was taken over meanwhile")]
    private static partial void EndRefused(ILogger logger, string outcome, string upstreamId);

    [LoggerMessage(EventId = 1215, Level = LogLevel.Warning, Message = "Settlement {Outcome} at {UpstreamId} could not be recorded yet ({Reason}); retrying in the background")]
    private static partial void RecordDeferred(ILogger logger, string outcome, string upstreamId, string reason);
}
