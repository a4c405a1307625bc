using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Routing;

/// <summary>
/// Settles each authorization once. The first caller routes it and records the outcome in the ledger; concurrent
/// callers wait for that outcome; repeats get the recorded answer until the authorization expires; and a settlement
/// whose outcome is unknown (<c>settlement_pending</c>) is only ever retried on the upstream that may have processed it.
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
        var longest = configuration.Upstreams.Where(static u => u.Enabled)
            .Select(static u => u.SettleTimeout * (u.Retries + 1)).DefaultIfEmpty(TimeSpan.FromSeconds(30)).Max();
        _waitLimit = longest * Math.Max(1, configuration.Upstreams.Count(static u => u.Enabled)) + TimeSpan.FromSeconds(5);
    }

    /// <summary>
    /// What the ledger holds for this authorization (finished or pending), for a repeat that local verification would
    /// now refuse (it expired meanwhile, say): a settled payment must keep its answer.
    /// </summary>
    public async ValueTask<SettlementRecord?> FindAsync(ReadOnlyMemory<byte> body, PaymentRequestView view) =>
        SettlementKey.TryCreate(body.Span, view, _time.GetUtcNow(), out var key, out _)
        && await _ledger.FindAsync(key).ConfigureAwait(false) is { State: not SettlementState.InFlight } record
            ? record
            : null;

    /// <summary>Settles the payment in <paramref name="body"/>, or answers from the ledger.</summary>
    public async ValueTask<SettlementResult> SettleAsync(ReadOnlyMemory<byte> body, PaymentRequestView view)
    {
        if (!SettlementKey.TryCreate(body.Span, view, _time.GetUtcNow(), out var key, out var expiresAt))
        {
            return SettlementResult.Live(
                await _router.RouteAsync(FacilitatorOperation.Settle, body, null, CancellationToken.None, kind: PaymentKind.Of(view)).ConfigureAwait(false));
        }

        for (var round = 0; round < 3; round++)
        {
            var claim = await _ledger.ClaimAsync(key, expiresAt, CancellationToken.None).ConfigureAwait(false);
            var existing = claim.Existing;
            if (claim.Owned)
            {
                return await RouteAndRecordAsync(key, expiresAt, body, sticky: null, PaymentKind.Of(view)).ConfigureAwait(false);
            }

            if (existing!.State == SettlementState.InFlight)
            {
                existing = await _ledger.WaitAsync(key, _waitLimit, CancellationToken.None).ConfigureAwait(false);
                if (existing is null)
                {
                    // Released: the first caller reached no upstream. Claim again.
                    continue;
                }

                if (existing.State == SettlementState.InFlight)
                {
                    return SettlementResult.FromLedger(existing with { State = SettlementState.Pending });
                }
            }

            if (existing.State == SettlementState.Finished)
            {
                SettlementReplayed(_logger, existing.UpstreamId ?? "");
                return SettlementResult.FromLedger(existing);
            }

            // Pending: only the upstream that may have processed it may be asked again.
            var holder = existing.UpstreamId is null ? null : _table.Find(existing.UpstreamId);
            if (holder is null)
            {
                return SettlementResult.FromLedger(existing);
            }

            return await RouteAndRecordAsync(key, expiresAt, body, holder, default).ConfigureAwait(false);
        }

        return SettlementResult.FromLedger(new SettlementRecord(SettlementState.Pending, null, 0, null, null, _time.GetUtcNow()));
    }

    private async ValueTask<SettlementResult> RouteAndRecordAsync(
        string key, DateTimeOffset expiresAt, ReadOnlyMemory<byte> body, Upstream? sticky, PaymentKind kind)
    {
        RouteResult? result = null;
        try
        {
            result = await _router.RouteAsync(FacilitatorOperation.Settle, body, null, CancellationToken.None, sticky, kind).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            switch (result.Outcome)
            {
                case RouteOutcome.Answered:
                    await _ledger.RecordAsync(
                        key,
                        new SettlementRecord(SettlementState.Finished, result.Upstream!.Id, result.Last.StatusCode, result.Last.ContentType, result.Body!.Span.ToArray(), now),
                        expiresAt).ConfigureAwait(false);
                    break;
                case RouteOutcome.SettlementPending:
                    await _ledger.RecordAsync(key, new SettlementRecord(SettlementState.Pending, result.Upstream!.Id, 0, null, null, now), expiresAt).ConfigureAwait(false);
                    break;
                default:
                    if (sticky is null)
                    {
                        await _ledger.ReleaseAsync(key).ConfigureAwait(false);
                    }
                    else
                    {
                        // The holder could not be reached this time; it may still have processed the first attempt.
                        await _ledger.RecordAsync(key, new SettlementRecord(SettlementState.Pending, sticky.Id, 0, null, null, now), expiresAt).ConfigureAwait(false);
                    }

                    break;
            }

            return SettlementResult.Live(result);
        }
        catch
        {
            // Whatever happened, an attempt may have left: refuse to send this authorization anywhere else.
            await _ledger.RecordAsync(
                key,
                new SettlementRecord(SettlementState.Pending, sticky?.Id ?? result?.Upstream?.Id, 0, null, null, _time.GetUtcNow()),
                expiresAt).ConfigureAwait(false);
            result?.Dispose();
            throw;
        }
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "[Facilitator] settle of an authorization already settled by {UpstreamId} answered from the ledger")]
    private static partial void SettlementReplayed(ILogger logger, string upstreamId);
}

/// <summary>A settle's answer: routed now (<see cref="Route"/>) or taken from the ledger (<see cref="Recorded"/>).</summary>
public sealed class SettlementResult : IDisposable
{
    private SettlementResult(RouteResult? route, SettlementRecord? recorded)
    {
        Route = route;
        Recorded = recorded;
    }

    public RouteResult? Route { get; }

    public SettlementRecord? Recorded { get; }

    public static SettlementResult Live(RouteResult route) => new(route, null);

    public static SettlementResult FromLedger(SettlementRecord record) => new(null, record);

    public void Dispose() => Route?.Dispose();
}
