using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Routing;

/// <summary>
/// Settles each authorization once. The first caller claims it in the ledger, routes it and records the outcome;
/// concurrent callers wait for that outcome; repeats get the recorded answer until the authorization expires; and a
/// settlement whose outcome is unknown (<c>settlement_pending</c>) is only ever retried, under a claim, on the
/// upstream that may have processed it, and becomes finished only when that upstream reports success.
/// </summary>
public sealed partial class SettlementCoordinator
{
    private readonly FailoverRouter _router;
    private readonly RoutingTable _table;
    private readonly ISettlementLedger _ledger;
    private readonly TimeProvider _time;
    private readonly ILogger<SettlementCoordinator> _logger;
    private readonly TimeSpan _waitLimit;

    public SettlementCoordinator(
        FailoverRouter router, RoutingTable table, ISettlementLedger ledger, RoutingConfiguration configuration, TimeProvider time, ILogger<SettlementCoordinator> logger)
    {
        _router = router;
        _table = table;
        _ledger = ledger;
        _time = time;
        _logger = logger;

        // A settle's long part is one upstream's attempts; failover happens only after quick, provable refusals.
        _waitLimit = configuration.Upstreams.Where(static u => u.Enabled)
            .Select(static u => u.SettleTimeout * (u.Retries + 1)).DefaultIfEmpty(TimeSpan.FromSeconds(30)).Max() + TimeSpan.FromSeconds(5);
    }

    /// <summary>
    /// What the ledger holds for this authorization, for a repeat that local verification would now refuse (it
    /// expired meanwhile, say): a settled, pending or in-flight payment must not be told it failed.
    /// </summary>
    public async ValueTask<SettlementRecord?> FindAsync(ReadOnlyMemory<byte> body, PaymentRequestView view) =>
        SettlementKey.TryCreate(body.Span, view, _time.GetUtcNow(), out var key, out _) ? await _ledger.FindAsync(key).ConfigureAwait(false) : null;

    /// <summary>Settles the payment in <paramref name="body"/>, or answers from the ledger.</summary>
    public async ValueTask<SettlementResult> SettleAsync(ReadOnlyMemory<byte> body, PaymentRequestView view)
    {
        var now = _time.GetUtcNow();
        if (!SettlementKey.TryCreate(body.Span, view, now, out var key, out var expiresAt))
        {
            return SettlementResult.Live(
                await _router.RouteAsync(FacilitatorOperation.Settle, body, null, CancellationToken.None, kind: PaymentKind.Of(view)).ConfigureAwait(false));
        }

        // A claim must outlive the settle it covers, even for an authorization that is about to expire.
        var keepUntil = Later(expiresAt, now + _waitLimit + TimeSpan.FromMinutes(1));
        try
        {
            var claim = await _ledger.ClaimAsync(key, keepUntil, CancellationToken.None).ConfigureAwait(false);
            for (var round = 0; round < 4; round++)
            {
                if (claim.Owned)
                {
                    return await RouteAndRecordAsync(key, claim.ClaimId!, keepUntil, body, null, PaymentKind.Of(view)).ConfigureAwait(false);
                }

                var existing = claim.Existing!;
                if (existing.State == SettlementState.InFlight)
                {
                    var settled = await _ledger.WaitAsync(key, _waitLimit, CancellationToken.None).ConfigureAwait(false);
                    if (settled is null)
                    {
                        // Released: the first caller reached no upstream. Claim again.
                        claim = await _ledger.ClaimAsync(key, keepUntil, CancellationToken.None).ConfigureAwait(false);
                        continue;
                    }

                    if (settled.State == SettlementState.InFlight)
                    {
                        return SettlementResult.FromLedger(settled with { State = SettlementState.Pending });
                    }

                    existing = settled;
                }

                if (existing.State == SettlementState.Finished)
                {
                    SettlementReplayed(_logger, existing.UpstreamId ?? "");
                    return SettlementResult.FromLedger(existing);
                }

                // Pending: only the upstream that may have processed it may be asked again, by one caller at a time.
                var holder = existing.UpstreamId is null ? null : _table.Find(existing.UpstreamId);
                if (holder is null)
                {
                    return SettlementResult.FromLedger(existing);
                }

                claim = await _ledger.ClaimPendingAsync(key, holder.Id, keepUntil).ConfigureAwait(false);
                if (claim.Owned)
                {
                    return await RouteAndRecordAsync(key, claim.ClaimId!, keepUntil, body, holder, default).ConfigureAwait(false);
                }
            }

            return SettlementResult.FromLedger(new SettlementRecord(SettlementState.Pending, null, 0, null, null, now));
        }
        catch (SettlementLedgerUnavailableException)
        {
            return SettlementResult.LedgerUnavailable;
        }
    }

    private async ValueTask<SettlementResult> RouteAndRecordAsync(
        string key, string claimId, DateTimeOffset keepUntil, ReadOnlyMemory<byte> body, Upstream? sticky, PaymentKind kind)
    {
        RouteResult? result = null;
        try
        {
            result = await _router.RouteAsync(FacilitatorOperation.Settle, body, null, CancellationToken.None, sticky, kind).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            switch (result.Outcome)
            {
                case RouteOutcome.Answered when sticky is not null && !Succeeded(result):
                    // A retry of a pending settlement that did not succeed proves nothing about the first attempt
                    // (it may have paid, and the retry found the nonce spent): it stays pending.
                    await _ledger.RecordAsync(key, claimId, Pending(sticky.Id, now), keepUntil).ConfigureAwait(false);
                    break;
                case RouteOutcome.Answered:
                    await _ledger.RecordAsync(
                        key,
                        claimId,
                        new SettlementRecord(SettlementState.Finished, result.Upstream!.Id, result.Last.StatusCode, result.Last.ContentType, result.Body!.Span.ToArray(), now),
                        keepUntil).ConfigureAwait(false);
                    break;
                case RouteOutcome.SettlementPending:
                    await _ledger.RecordAsync(key, claimId, Pending(result.Upstream!.Id, now), keepUntil).ConfigureAwait(false);
                    break;
                default:
                    // Provably processed nowhere (or, on a sticky retry, still pending at the holder).
                    await _ledger.ReleaseAsync(key, claimId).ConfigureAwait(false);
                    break;
            }

            return SettlementResult.Live(result);
        }
        catch
        {
            // Whatever happened, an attempt may have left: refuse to send this authorization anywhere else.
            await _ledger.RecordAsync(key, claimId, Pending(sticky?.Id ?? result?.Upstream?.Id, _time.GetUtcNow()), keepUntil).ConfigureAwait(false);
            result?.Dispose();
            throw;
        }
    }

    private static bool Succeeded(RouteResult result) =>
        result.Body is { } body && X402AnswerShape.TryReadVerdict(FacilitatorOperation.Settle, body.Span, out var success, out _) && success;

    private static SettlementRecord Pending(string? upstreamId, DateTimeOffset now) => new(SettlementState.Pending, upstreamId, 0, null, null, now);

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "[Facilitator] settle of an authorization already settled by {UpstreamId} answered from the ledger")]
    private static partial void SettlementReplayed(ILogger logger, string upstreamId);
}

/// <summary>A settle's answer: routed now (<see cref="Route"/>), taken from the ledger (<see cref="Recorded"/>), or refused because the ledger is unreachable.</summary>
public sealed class SettlementResult : IDisposable
{
    private SettlementResult(RouteResult? route, SettlementRecord? recorded)
    {
        Route = route;
        Recorded = recorded;
    }

    /// <summary>The shared ledger could not be reached (and local fallback is off): nothing was sent.</summary>
    public static SettlementResult LedgerUnavailable { get; } = new(null, null);

    public RouteResult? Route { get; }

    public SettlementRecord? Recorded { get; }

    public static SettlementResult Live(RouteResult route) => new(route, null);

    public static SettlementResult FromLedger(SettlementRecord record) => new(null, record);

    public void Dispose() => Route?.Dispose();
}
