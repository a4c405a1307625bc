using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>
/// Settles each authorization once: the first caller claims it in the ledger and routes it (naming each upstream
/// before an attempt leaves), concurrent callers of the same authorization wait to be told its outcome, repeats get
/// the recorded answer, a settlement whose outcome is unknown is retried only on the upstream that may have it, and
/// a different authorization that reuses a payer's nonce is refused without reaching an upstream or waiting.
/// </summary>
public sealed partial class SettlementCoordinator
{
    private readonly FailoverRouter _router;
    private readonly RoutingTable _table;
    private readonly SettlementLedger _ledger;
    private readonly SettlementDrain _drain;
    private readonly PendingReconciler _reconciler;
    private readonly TimeProvider _time;
    private readonly ILogger<SettlementCoordinator> _logger;
    private readonly ISettlementObserver[] _observers;

    public SettlementCoordinator(
        FailoverRouter router,
        RoutingTable table,
        SettlementLedger ledger,
        SettlementDrain drain,
        PendingReconciler reconciler,
        TimeProvider time,
        ILogger<SettlementCoordinator> logger,
        IEnumerable<ISettlementObserver>? observers = null)
    {
        _observers = observers?.ToArray() ?? [];
        _router = router;
        _table = table;
        _ledger = ledger;
        _drain = drain;
        _reconciler = reconciler;
        _time = time;
        _logger = logger;
        reconciler.Attach(ReconcileAsync);
    }

    /// <summary>
    /// The ledger's record of this very authorization, for a repeat that local verification now refuses for its
    /// validity window (it expired meanwhile): a settled, pending or in-flight payment must not be told it failed. Read
    /// is false when the ledger could not be read (which is not "no record").
    /// </summary>
    public async ValueTask<(bool Read, SettlementRecord? Record)> LookUpSameAsync(ReadOnlyMemory<byte> body, PaymentRequestView view, AuthorizationFacts facts)
    {
        if (!SettlementIdentity.TryCreate(body.Span, view, facts, out var identity))
        {
            return (true, null);
        }

        try
        {
            return (true, await _ledger.FindAsync(identity.Key).ConfigureAwait(false) is { } record && record.Fingerprint == identity.Fingerprint ? record : null);
        }
        catch (SettlementLedgerUnavailableException)
        {
            return (false, null);
        }
    }

    /// <summary>
    /// Whether the ledger holds this authorization's nonce as settled, pending or in flight, by this authorization or
    /// another reusing it; true when the ledger cannot be read (nothing may be assumed unspent).
    /// </summary>
    public async ValueTask<bool> HoldsNonceAsync(ReadOnlyMemory<byte> body, PaymentRequestView view, AuthorizationFacts facts)
    {
        if (!SettlementIdentity.TryCreate(body.Span, view, facts, out var identity))
        {
            return false;
        }

        try
        {
            return await _ledger.FindAsync(identity.Key).ConfigureAwait(false) is { } record && !IsFailure(record)
                || (identity.NonceKey is { } nonceKey && await _ledger.FindAsync(nonceKey).ConfigureAwait(false) is { } other && !IsFailure(other));
        }
        catch (SettlementLedgerUnavailableException)
        {
            return true;
        }
    }

    /// <summary>Settles the payment in <paramref name="body"/>, or answers from the ledger.</summary>
    /// <param name="callerAborted">Ends a wait for another caller's settlement; a settle this caller owns always runs to its end.</param>
    /// <param name="heldBy">
    /// The upstream the caller knows has this settlement pending (a <c>/v1</c> payment settling there): a fresh claim
    /// is then a retry bound to it, as the ledger's own pending record would make it, for when the ledger forgot.
    /// </param>
    public async ValueTask<SettlementResult> SettleAsync(
        PooledBytes body, PaymentRequestView view, AuthorizationFacts facts, CancellationToken callerAborted, string? heldBy = null)
    {
        if (!SettlementIdentity.TryCreate(body.Span, view, facts, out var identity))
        {
            return SettlementResult.Unavailable("The request has no paymentPayload to settle.");
        }

        if (!_drain.TryEnter())
        {
            return SettlementResult.ShuttingDown;
        }

        try
        {
            if (identity.NonceKey is { } nonceKey
                && await _ledger.FindAsync(nonceKey).ConfigureAwait(false) is { Verified: true } verified && !IsFailure(verified))
            {
                if (verified.Fingerprint != identity.Fingerprint)
                {
                    NonceReuseRefused(_logger, verified.UpstreamId ?? "none");
                    return SettlementResult.NonceReused(verified, identity.Kind);
                }

                // The same authorization, known with a checked signature (this copy's domain fields differ): it may learn
                // that settlement's outcome, but never settle it, lest an unchecked copy act for the payer.
                if (await FollowAsync(nonceKey, identity, callerAborted).ConfigureAwait(false) is { } followed)
                {
                    return followed;
                }
            }

            return await ClaimAndSettleAsync(body, view, identity, callerAborted, heldBy).ConfigureAwait(false);
        }
        catch (SettlementLedgerUnavailableException ex)
        {
            return SettlementResult.Unavailable(ex.Message);
        }
        finally
        {
            _drain.Exit();
        }
    }

    /// <summary>
    /// Follows another request's settlement of this authorization without claiming it: its success, or pending while it
    /// is unfinished. Null when it ended without a success, so this request settles under its own key.
    /// </summary>
    private async ValueTask<SettlementResult?> FollowAsync(Sha256Hash key, SettlementIdentity identity, CancellationToken callerAborted)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            using var listener = _ledger.Waiters.Listen(key);
            var read = await _ledger.ReadAsync(key).ConfigureAwait(false);
            switch (read.Record)
            {
                case null or { State: SettlementState.Finished, Success: false }:
                    return null;
                case { } other when other.Fingerprint != identity.Fingerprint:
                    // Meanwhile another authorization of the payer's took the nonce: this one is a reuse of it.
                    return SettlementResult.NonceReused(other, identity.Kind);
                case { State: SettlementState.Finished }:
                    return SettlementResult.Recorded(read.Record);
                case { State: SettlementState.InFlight } when read.Record.LeaseUntilMs > read.NowMs && _time.GetElapsedTime(started) < _ledger.Policy.Wait:
                    if (callerAborted.IsCancellationRequested)
                    {
                        return SettlementResult.Abandoned;
                    }

                    await listener.WaitAsync(_ledger.Policy.PollEvery, _time, callerAborted).ConfigureAwait(false);
                    break;
                default:
                    return SettlementResult.Recorded(read.Record with { State = SettlementState.Pending });
            }
        }
    }

    private static bool IsFailure(SettlementRecord record) => record is { State: SettlementState.Finished, Success: false };

    private async ValueTask<SettlementResult> ClaimAndSettleAsync(
        PooledBytes body, PaymentRequestView view, SettlementIdentity identity, CancellationToken callerAborted, string? heldBy)
    {
        var started = _time.GetTimestamp();
        SettlementRecord? seenInFlight = null;
        while (true)
        {
            // Listening before the read: an outcome written between the read and the wait still wakes this caller.
            using var listener = _ledger.Waiters.Listen(identity.Key);
            ClaimResult claim;
            try
            {
                claim = await _ledger.ClaimAsync(identity, allowFallback: seenInFlight is null).ConfigureAwait(false);
            }
            catch (SettlementLedgerUnavailableException) when (seenInFlight is not null)
            {
                // Seen in flight in the shared ledger, which is now out of reach: it is still in flight as far as this
                // caller can tell, and must not be settled again where that ledger cannot see.
                return SettlementResult.Recorded(seenInFlight with { State = SettlementState.Pending });
            }

            if (claim.Kind != ClaimKind.InFlight)
            {
                listener.Dispose();
            }

            switch (claim.Kind)
            {
                case ClaimKind.Claimed when heldBy is null:
                    return await SettleOwnedAsync(claim.Claim!, identity, body, null, PaymentKind.Of(view)).ConfigureAwait(false);

                case ClaimKind.Claimed or ClaimKind.ClaimedRetry:
                    var holder = _table.Find(claim.Kind == ClaimKind.ClaimedRetry ? claim.Claim!.Upstream! : heldBy!);
                    if (holder is null)
                    {
                        // The upstream that may have it is no longer configured: nobody else may be asked.
                        await claim.Claim!.ReleaseAsync().ConfigureAwait(false);
                        return SettlementResult.Recorded(claim.Current is { } current ? current with { State = SettlementState.Pending } : PendingAt(heldBy, null));
                    }

                    return await SettleOwnedAsync(claim.Claim!, identity, body, holder, default).ConfigureAwait(false);

                case ClaimKind.Replay when heldBy is not null && IsFailure(claim.Current!) && claim.Current!.UpstreamId != heldBy:
                    // Another upstream's refusal of a later attempt says nothing of the attempt the holder has.
                    return SettlementResult.Recorded(PendingAt(heldBy, null));

                case ClaimKind.Replay:
                    SettlementReplayed(_logger, claim.Current!.UpstreamId ?? "none");
                    return SettlementResult.Recorded(claim.Current);

                case ClaimKind.NonceReused:
                    NonceReuseRefused(_logger, claim.Current!.UpstreamId ?? "none");
                    return SettlementResult.NonceReused(claim.Current, identity.Kind);

                default:
                    seenInFlight = claim.Current;
                    var remaining = _ledger.Policy.Wait - _time.GetElapsedTime(started);
                    if (remaining <= TimeSpan.Zero)
                    {
                        return SettlementResult.Recorded(claim.Current! with { State = SettlementState.Pending });
                    }

                    if (callerAborted.IsCancellationRequested)
                    {
                        return SettlementResult.Abandoned;
                    }

                    await listener.WaitAsync(remaining < _ledger.Policy.PollEvery ? remaining : _ledger.Policy.PollEvery, _time, callerAborted)
                        .ConfigureAwait(false);
                    break;
            }
        }
    }

    /// <summary>Routes a settlement this caller owns and records how it ended; <paramref name="sticky"/> for a retry at its holder.</summary>
    private async ValueTask<SettlementResult> SettleOwnedAsync(
        SettlementClaim claim, SettlementIdentity identity, PooledBytes body, Upstream? sticky, PaymentKind kind)
    {
        RouteResult? result = null;
        var started = _time.GetTimestamp();
        claim.StartRenewing();
        try
        {
            result = await _router.RouteAsync(FacilitatorOperation.Settle, body, null, CancellationToken.None, sticky, kind, claim).ConfigureAwait(false);
            await claim.StopRenewingAsync().ConfigureAwait(false);
            var settlement = await RecordAsync(claim, result, sticky).ConfigureAwait(false);
            if (settlement.Route is { Outcome: RouteOutcome.Answered } answered && Succeeded(answered))
            {
                TellSettled(body.Span, answered, _time.GetElapsedTime(started));
            }

            if (IsPending(settlement) && (sticky?.Id ?? result.Upstream?.Id) is { } holder)
            {
                _reconciler.Track(identity, body.Span, holder);
            }

            return settlement;
        }
        catch
        {
            // Whatever happened, an attempt may have left for the named upstream: only it may be asked again.
            await claim.StopRenewingAsync().ConfigureAwait(false);
            await (claim.Upstream is { } named ? claim.MarkPendingAsync(named) : claim.ReleaseAsync()).ConfigureAwait(false);
            result?.Dispose();
            throw;
        }
    }

    private static bool IsPending(SettlementResult settlement) =>
        settlement.Answer == SettlementAnswer.Recorded ? settlement.Record!.State != SettlementState.Finished
        : settlement.Answer == SettlementAnswer.Routed && settlement.Route!.Outcome == RouteOutcome.SettlementPending;

    /// <summary>
    /// Asks the holder of a pending settlement again, as a repeat would (a retry claim bound to it); true once it is no
    /// longer pending (an outcome was found, or there is nothing left to learn), false to ask later.
    /// </summary>
    private async ValueTask<bool> ReconcileAsync(PendingSettlement pending)
    {
        // The store's word only: with Redis out of reach, the local fallback's empty read would look like "resolved".
        var read = await _ledger.ReadAsync(pending.Identity.Key, allowFallback: false).ConfigureAwait(false);
        if (read.Record is not { } record || record.Fingerprint != pending.Identity.Fingerprint || record.State == SettlementState.Finished)
        {
            return true;
        }

        if (record.State == SettlementState.InFlight && record.LeaseUntilMs > read.NowMs)
        {
            return false;
        }

        var claim = await _ledger.ClaimAsync(pending.Identity, allowFallback: false).ConfigureAwait(false);
        if (claim.Kind != ClaimKind.ClaimedRetry)
        {
            if (claim.Claim is { } unexpected)
            {
                await unexpected.ReleaseAsync().ConfigureAwait(false);
            }

            return claim.Kind == ClaimKind.Replay && claim.Current?.State == SettlementState.Finished;
        }

        if (_table.Find(claim.Claim!.Upstream!) is not { } holder)
        {
            await claim.Claim.ReleaseAsync().ConfigureAwait(false);
            return true;
        }

        using var body = PooledBytes.CopyOf(pending.Request);
        using var settlement = await SettleOwnedAsync(claim.Claim, pending.Identity, body, holder, default).ConfigureAwait(false);
        if (settlement.Answer == SettlementAnswer.Routed)
        {
            PendingResolved(_logger, holder.Id);
            return true;
        }

        return false;
    }

    private static async ValueTask<SettlementResult> RecordAsync(SettlementClaim claim, RouteResult result, Upstream? sticky)
    {
        if (sticky is not null && !(result.Outcome == RouteOutcome.Answered && Succeeded(result)))
        {
            // A retry that did not succeed proves nothing about the first attempt (it may have paid, and the retry found
            // the nonce spent, or the holder is down): the settlement stays pending there, and the caller is told so —
            // never "failed", which would tell a resource server that a payment that may have happened did not.
            var transaction = string.IsNullOrEmpty(result.Last.Transaction) ? claim.Transaction : result.Last.Transaction;
            await (result.Outcome is RouteOutcome.Answered or RouteOutcome.SettlementPending
                ? claim.MarkPendingAsync(sticky.Id, result.Last.Transaction)
                : claim.ReleaseAsync()).ConfigureAwait(false);
            result.Dispose();
            return SettlementResult.Recorded(PendingAt(sticky.Id, transaction));
        }

        switch (result.Outcome)
        {

            case RouteOutcome.Answered:
                await claim.FinishAsync(
                    result.Upstream!.Id, Succeeded(result), result.Last.StatusCode, result.Last.ContentType, result.Body!.Span.ToArray(),
                    result.Last.ExtensionResponses).ConfigureAwait(false);
                return SettlementResult.Routed(result);

            case RouteOutcome.SettlementPending:
                await claim.MarkPendingAsync(result.Upstream!.Id, result.Last.Transaction).ConfigureAwait(false);
                return SettlementResult.Routed(result);

            case RouteOutcome.Withheld when claim.Lost:
                result.Dispose();
                return SettlementResult.Recorded(PendingAt(claim.Upstream, claim.Transaction));

            case RouteOutcome.Withheld:
                await claim.ReleaseAsync().ConfigureAwait(false);
                result.Dispose();
                return SettlementResult.Unavailable("The settlement ledger could not record which facilitator the settle was going to, so it was not sent.");

            default:
                // Provably processed nowhere (or, on a retry, still pending at the holder).
                await claim.ReleaseAsync().ConfigureAwait(false);
                return SettlementResult.Routed(result);
        }
    }

    private void TellSettled(ReadOnlySpan<byte> request, RouteResult answered, TimeSpan elapsed)
    {
        foreach (var observer in _observers)
        {
            try
            {
                observer.Settled(request, answered.Upstream!.Id, answered.Body!.Span, elapsed);
            }
            catch (Exception ex)
            {
                ObserverFailed(_logger, observer.GetType().Name, ex);
            }
        }
    }

    /// <summary>A pending answer that is not from the ledger: pending at <paramref name="upstreamId"/>, with the transaction known.</summary>
    private static SettlementRecord PendingAt(string? upstreamId, string? transaction) =>
        new(SettlementState.Pending, default, false, upstreamId, null, 0, false, false, 0, null, null, 0, default, transaction);

    private static bool Succeeded(RouteResult result) =>
        result.Body is { } body && X402AnswerShape.TryReadVerdict(FacilitatorOperation.Settle, body.Span, out var success, out _) && success;

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "[Facilitator] settle of an authorization already settled by {UpstreamId} answered from the ledger")]
    private static partial void SettlementReplayed(ILogger logger, string upstreamId);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "[Facilitator] a settlement pending at {UpstreamId} has an outcome: asked again, it answered")]
    private static partial void PendingResolved(ILogger logger, string upstreamId);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Error, Message = "[Facilitator] a settlement observer ({Observer}) failed; the settlement itself is unaffected")]
    private static partial void ObserverFailed(ILogger logger, string observer, Exception exception);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "[Facilitator] settle refused: another authorization with the same payer and nonce is recorded (at {UpstreamId})")]
    private static partial void NonceReuseRefused(ILogger logger, string upstreamId);
}
