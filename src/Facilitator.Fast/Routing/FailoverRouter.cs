using System.Text;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;
using Facilitator.Fast.Telemetry;

namespace Facilitator.Fast.Routing;

/// <summary>
/// Sends one call through the upstreams of the current snapshot in priority order: <c>Retries</c> extra attempts
/// on each, then the next, until one answers. Every attempt is recorded in statistics, health and the operation log.
/// </summary>
/// <remarks>
/// An answer is any well-formed verify/settle/supported answer, including <c>isValid:false</c>, <c>success:false</c>
/// and 4xx bodies: those are verdicts, returned as they came, never failed over. Settle moves on only after a failure
/// where the upstream provably did not process it; any other settle failure ends the call as
/// <see cref="RouteOutcome.SettlementPending"/>, because a second submission of one authorization must never happen.
/// A settle attempt is also never cancelled because the caller went away: its outcome must still be learned.
/// </remarks>
public sealed class FailoverRouter
{
    private readonly RoutingTable _table;
    private readonly IUpstreamHealthStore _health;
    private readonly OperationLog _operations;
    private readonly TimeProvider _time;
    private readonly ILogger<FailoverRouter> _logger;
    private readonly AggregatorOptions _options;
    private readonly TimeSpan _cooldown;
    private readonly LogLevel _answerLevel;

    public FailoverRouter(
        RoutingTable table,
        IUpstreamHealthStore health,
        OperationLog operations,
        RoutingConfiguration configuration,
        TimeProvider time,
        ILogger<FailoverRouter> logger)
    {
        _table = table;
        _health = health;
        _operations = operations;
        _time = time;
        _logger = logger;
        _options = configuration.Aggregator;
        _cooldown = TimeSpan.FromMilliseconds(_options.UnhealthyCooldownMs);
        _answerLevel = _options.Logging ? LogLevel.Information : LogLevel.Debug;
    }

    /// <param name="kind">The payment's kind, for capability routing; default for calls that are not payments.</param>
    /// <param name="only">Route to this upstream alone, healthy or not, and never elsewhere: a settlement pending there.</param>
    public async ValueTask<RouteResult> RouteAsync(
        FacilitatorOperation operation,
        ReadOnlyMemory<byte> body,
        string? query,
        CancellationToken callerAborted,
        Upstream? only = null,
        PaymentKind kind = default)
    {
        var snapshot = only is null ? _table.Current : StickySnapshot(only);
        var attemptToken = operation == FacilitatorOperation.Settle ? CancellationToken.None : callerAborted;
        var attempts = 0;
        var offered = false;
        StringBuilder? failures = null;
        Upstream? summarized = null;
        AttemptResult last = default;

        // A settle is never the trial request that finds out whether a failing upstream is back: a hang there would
        // leave the payment pending although a healthy upstream was available. Trials are left to other calls.
        var settleAvoidsTrials = operation == FacilitatorOperation.Settle && snapshot.HasHealthyRoute;
        var capable = 0;

        // Two passes in priority order: upstreams known to support the payment's kind, then those not known yet.
        for (var pass = 0; pass < 2; pass++)
        foreach (var route in snapshot.Routes)
        {
            var upstream = route.Upstream;
            var support = only is null ? kind.SupportIn(upstream.CapabilitySet, body.Span) : Support.Listed;
            if (support == Support.NotListed || (support == Support.Listed) != (pass == 0))
            {
                continue;
            }

            capable++;
            if (only is null && !route.IsHealthy && snapshot.FailoverEnabled
                && (settleAvoidsTrials || !upstream.TryClaimTrial(_time.GetUtcNow(), _cooldown)))
            {
                continue;
            }

            for (var attempt = 0; attempt <= upstream.Definition.Retries; attempt++)
            {
                callerAborted.ThrowIfCancellationRequested();
                attempts++;
                last = await UpstreamCall.SendAsync(upstream, operation, body, query, _options.MaxResponseBodyBytes, attemptToken).ConfigureAwait(false);
                Record(upstream, operation, attempts, last);
                if (last.Answered)
                {
                    return new RouteResult(RouteOutcome.Answered, upstream, last, attempts, null);
                }

                AppendFailure(ref failures, ref summarized, upstream, last);
                if (last.Failure == AttemptFailure.NotOffered)
                {
                    break;
                }

                offered = true;
                if (operation == FacilitatorOperation.Settle && !last.Failure.ProvablyNotProcessed())
                {
                    RoutingLog.SettlementPending(_logger, upstream.Id, last.Describe());
                    return new RouteResult(RouteOutcome.SettlementPending, upstream, last, attempts, failures!.ToString());
                }
            }
        }

        var name = FacilitatorOperations.Name(operation);
        if (capable == 0 && snapshot.Routes.Length > 0)
        {
            return new RouteResult(RouteOutcome.Unsupported, null, last, 0, "No facilitator supports this payment's scheme and network.");
        }

        if (attempts == 0)
        {
            RoutingLog.NoneEligible(_logger, name);
            return new RouteResult(RouteOutcome.NoneEligible, null, last, 0, "No healthy facilitators available");
        }

        var summary = failures!.ToString();
        if (!offered)
        {
            return new RouteResult(RouteOutcome.NotOffered, null, last, attempts, summary);
        }

        RoutingLog.AllFailed(_logger, name, summary);
        return new RouteResult(RouteOutcome.AllFailed, null, last, attempts, summary);
    }

    private static RoutingSnapshot StickySnapshot(Upstream upstream) => new([new UpstreamRoute(upstream, true)], false, 0);

    /// <summary>Records one attempt's outcome in statistics, health and the operation log.</summary>
    public void Record(Upstream upstream, FacilitatorOperation operation, int attempt, in AttemptResult result)
    {
        var now = _time.GetUtcNow();
        var healthy = result.Answered || result.Failure == AttemptFailure.NotOffered;
        upstream.Statistics.Record(operation, healthy, result.ElapsedMicroseconds);
        var elapsedMs = result.ElapsedMicroseconds / 1000.0;
        var name = FacilitatorOperations.Name(operation);
        string? error = null;
        if (healthy)
        {
            _health.RecordSuccess(upstream.Id, now);
            if (result.Answered)
            {
                RoutingLog.Answered(_logger, _answerLevel, name, upstream.Id, result.StatusCode, elapsedMs, attempt);
            }
        }
        else
        {
            error = result.Describe();
            RoutingLog.AttemptFailed(_logger, name, attempt, upstream.Id, error);

            // Held before the failure is counted: the transition it may cause publishes a snapshot that lets trials in.
            upstream.HoldTrialsUntil(now + _cooldown);
            _health.RecordFailure(upstream.Id, now, error, _options.MaxConsecutiveFailures);
        }

        _operations.Add(new OperationRecord(
            now, upstream.Id, name, healthy, attempt, result.StatusCode == 0 ? null : result.StatusCode, elapsedMs, error));
    }

    /// <summary>Builds "x402-rs: timed out (after 5000 ms), server error (HTTP 500); payai-network: ..." on failure paths only.</summary>
    private static void AppendFailure(ref StringBuilder? failures, ref Upstream? current, Upstream upstream, in AttemptResult result)
    {
        failures ??= new StringBuilder(128);
        if (!ReferenceEquals(current, upstream))
        {
            if (failures.Length > 0)
            {
                failures.Append("; ");
            }

            failures.Append(upstream.Id).Append(": ");
            current = upstream;
        }
        else
        {
            failures.Append(", ");
        }

        failures.Append(result.Describe());
    }
}
