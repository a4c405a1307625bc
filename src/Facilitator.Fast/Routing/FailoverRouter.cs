using System.Buffers;
using System.Diagnostics;
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
    private readonly RetryBudget _budget;
    private long _failovers;

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
        _budget = new RetryBudget(_options.ExtraRequestRatio, _options.ExtraRequestMinimum, time);
    }

    /// <param name="body">The caller's bytes, forwarded as they are; null for GET operations.</param>
    /// <param name="kind">The payment's kind, for capability routing; default for calls that are not payments.</param>
    /// <param name="only">Route to this upstream alone, healthy or not, and never elsewhere: a settlement pending there.</param>
    /// <param name="gate">Settle: told the upstream before each attempt leaves; an attempt it refuses is not sent.</param>
    /// <summary>Calls this instance had answered by another upstream than the first tried, since it started.</summary>
    public long Failovers => Volatile.Read(ref _failovers);

    public async ValueTask<RouteResult> RouteAsync(
        FacilitatorOperation operation,
        PooledBytes? body,
        DiscoveryQuery? query,
        CancellationToken callerAborted,
        Upstream? only = null,
        PaymentKind kind = default,
        ISettleAttemptGate? gate = null)
    {
        var snapshot = only is null ? _table.Current : StickySnapshot(only);
        var candidates = ArrayPool<Candidate>.Shared.Rent(Math.Max(snapshot.Routes.Length, 1));
        try
        {
            var count = Order(snapshot, operation, kind, body is null ? default : body.Span, only, candidates, out var capable);
            if (capable == 0 && snapshot.Routes.Length > 0)
            {
                return kind.IsBound
                    ? new RouteResult(RouteOutcome.NoneEligible, null, default, 0,
                        $"The payment was signed for a facilitator (extra.{FacilitatorBinding.Fields[kind.BindingField - 1]}) that no upstream of this gateway advertises for its kind, or whose /supported is not known yet; it was sent to no other facilitator")
                    : new RouteResult(RouteOutcome.Unsupported, null, default, 0, "No facilitator supports this payment's scheme and network.");
            }

            _budget.RecordRequest();
            return await TryCandidatesAsync(operation, body, query, callerAborted, candidates, count, gate).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<Candidate>.Shared.Return(candidates, clearArray: true);
        }
    }

    /// <summary>
    /// Puts the snapshot's routes in the order they are to be tried: upstreams known to support the payment's kind,
    /// then those whose capabilities are not known; none that is known not to support it. Unhealthy upstreams are
    /// kept as trial candidates (claimed only when reached), except for settle while a healthy one exists: a settle
    /// is never the trial that finds out whether a failing upstream is back.
    /// </summary>
    /// <remarks>
    /// A payment bound to a facilitator (its requirements name a fee payer or the like) goes only to the upstreams that
    /// advertise that value for its kind: another would have to call it invalid, and that verdict would be final. An
    /// upstream whose capabilities are not known yet cannot be shown to be the one, so it is not tried.
    /// </remarks>
    internal static int Order(
        RoutingSnapshot snapshot, FacilitatorOperation operation, PaymentKind kind, ReadOnlySpan<byte> body, Upstream? only, Candidate[] candidates, out int capable)
    {
        var count = 0;
        capable = 0;
        Span<char> keyBuffer = stackalloc char[256];
        var keyLength = only is null ? kind.WriteKey(body, keyBuffer) : -1;
        ReadOnlySpan<char> key = keyLength < 0 ? default : keyBuffer[..keyLength];
        Span<char> bindingBuffer = stackalloc char[512];
        var bindingLength = only is null && kind.IsBound ? FacilitatorBinding.WriteKey(kind, body, bindingBuffer) : 0;
        if (bindingLength < 0)
        {
            return 0;
        }

        ReadOnlySpan<char> binding = bindingBuffer[..bindingLength];
        var settleAvoidsTrials = false;
        if (operation == FacilitatorOperation.Settle)
        {
            foreach (var route in snapshot.Routes)
            {
                settleAvoidsTrials |= route.IsHealthy && Eligibility(route.Upstream, key, binding) != Support.NotListed;
            }
        }

        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var route in snapshot.Routes)
            {
                var support = only is null ? Eligibility(route.Upstream, key, binding) : Support.Listed;
                if (support == Support.NotListed || (support == Support.Listed) != (pass == 0))
                {
                    continue;
                }

                capable++;
                var trial = only is null && !route.IsHealthy && snapshot.FailoverEnabled;
                if (!(trial && settleAvoidsTrials))
                {
                    candidates[count++] = new Candidate(route.Upstream, trial);
                }
            }
        }

        return count;
    }

    private static Support Eligibility(Upstream upstream, ReadOnlySpan<char> key, ReadOnlySpan<char> binding) =>
        binding.IsEmpty ? PaymentKind.SupportIn(upstream.CapabilitySet, key)
        : upstream.CapabilitySet?.Advertises(binding) == true ? Support.Listed
        : Support.NotListed;

    private async ValueTask<RouteResult> TryCandidatesAsync(
        FacilitatorOperation operation, PooledBytes? body, DiscoveryQuery? query, CancellationToken callerAborted, Candidate[] candidates, int count, ISettleAttemptGate? gate)
    {
        var attemptToken = operation == FacilitatorOperation.Settle ? CancellationToken.None : callerAborted;
        var hedgeable = _options.Hedging && operation is FacilitatorOperation.Verify or FacilitatorOperation.Discovery;
        var attempts = 0;
        var offered = false;
        var onlyRejected = true;
        int? retryAfter = null;
        List<(Upstream Upstream, string Error)>? uncorroborated = null;
        StringBuilder? failures = null;
        Upstream? summarized = null;
        AttemptResult last = default;

        for (var i = 0; i < count; i++)
        {
            var (upstream, trial) = candidates[i];
            if (upstream is null || (trial && !upstream.TryClaimTrial(_time.GetUtcNow(), _cooldown)))
            {
                continue;
            }

            for (var attempt = 0; attempt <= upstream.Definition.Retries; attempt++)
            {
                callerAborted.ThrowIfCancellationRequested();
                if (attempt > 0 && !_budget.TryAcquireExtra())
                {
                    upstream.Statistics.RecordBudgetRefusal();
                    break;
                }

                if (gate is not null && !await gate.BeforeAttemptAsync(upstream).ConfigureAwait(false))
                {
                    return new RouteResult(RouteOutcome.Withheld, upstream, last, attempts, failures?.ToString());
                }

                var backupIndex = hedgeable && attempt == 0 ? NextHealthy(candidates, i + 1, count) : -1;
                var outcome = backupIndex < 0
                    ? new HedgedAttempt(await UpstreamCall.SendAsync(upstream, operation, body, query, _options.MaxResponseBodyBytes, attemptToken, attempts + 1).ConfigureAwait(false), upstream, null, null)
                    : await SendHedgedAsync(upstream, candidates[backupIndex].Upstream!, operation, body, query, attemptToken).ConfigureAwait(false);
                if (outcome.Second is not null || outcome.CancelledLoser)
                {
                    // The hedge was sent: the backup has had its try, whatever the outcome.
                    candidates[backupIndex] = default;
                    attempts += outcome.CancelledLoser ? 1 : 0;
                }

                for (var k = 0; k < outcome.Count; k++)
                {
                    var (result, from) = outcome[k];
                    attempts++;
                    last = result;
                    if (Record(from, operation, attempts, result, awaitCorroboration: true))
                    {
                        (uncorroborated ??= []).Add((from, result.Describe()));
                    }

                    if (result.Answered)
                    {
                        CountCorroborated(uncorroborated);
                        if (!ReferenceEquals(from, upstream))
                        {
                            from.Statistics.RecordHedgeWon();
                            FacilitatorTelemetry.Hedges.Add(1, new KeyValuePair<string, object?>("facilitator.upstream.id", from.Id), new KeyValuePair<string, object?>("facilitator.hedge", "won"));
                        }

                        if (i > 0 || !ReferenceEquals(from, upstream))
                        {
                            Interlocked.Increment(ref _failovers);
                            FacilitatorTelemetry.Failovers.Add(1, new KeyValuePair<string, object?>("facilitator.operation", FacilitatorOperations.Name(operation)));
                        }

                        return new RouteResult(RouteOutcome.Answered, from, result, attempts, null);
                    }

                    AppendFailure(ref failures, ref summarized, from, result);
                    offered |= result.Failure != AttemptFailure.NotOffered;
                    onlyRejected &= result.Failure is AttemptFailure.Rejected or AttemptFailure.NotOffered;
                    retryAfter = Sooner(retryAfter, result.RetryAfter);
                    if (operation == FacilitatorOperation.Settle && !result.Failure.ProvablyNotProcessed())
                    {
                        RoutingLog.SettlementPending(_logger, from.Id, result.Describe());
                        return new RouteResult(RouteOutcome.SettlementPending, from, result, attempts, failures!.ToString());
                    }
                }

                // Asking the same upstream again would get the same answer.
                if (last.Failure is AttemptFailure.NotOffered or AttemptFailure.Rejected or AttemptFailure.CredentialsRefused)
                {
                    break;
                }
            }
        }

        var name = FacilitatorOperations.Name(operation);
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

        if (onlyRejected)
        {
            return new RouteResult(RouteOutcome.Rejected, null, last, attempts, summary);
        }

        RoutingLog.AllFailed(_logger, name, summary);
        return new RouteResult(RouteOutcome.AllFailed, null, last, attempts, summary)
        {
            RetryAfter = retryAfter?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    /// <summary>
    /// One attempt on <paramref name="primary"/> that, when it has not answered after the hedge delay (its recent
    /// p95, bounded by settings) and the budget allows, sends the same bytes to <paramref name="backup"/>. The first
    /// acceptable answer wins and the other request is cancelled; if the first to finish failed, the other is awaited.
    /// </summary>
    /// <remarks>
    /// While no hedge fires (nearly always) this costs one timer for the delay and nothing else: the primary runs under
    /// its own attempt source (which the race can cancel), and waiting for it or the delay is one <c>WaitAsync</c>.
    /// </remarks>
    private async ValueTask<HedgedAttempt> SendHedgedAsync(
        Upstream primary, Upstream backup, FacilitatorOperation operation, PooledBytes? body, DiscoveryQuery? query, CancellationToken callerAborted)
    {
        using var primaryCancel = new HedgedAttemptCancellation(callerAborted);
        var primaryStarted = Stopwatch.GetTimestamp();
        var primaryTask = UpstreamCall.SendAsync(primary, operation, body, query, _options.MaxResponseBodyBytes, callerAborted, attemptSource: primaryCancel);
        HedgedAttemptCancellation? backupCancel = null;
        Task<AttemptResult>? backupTask = null;
        try
        {
            if (!primaryTask.IsCompleted)
            {
                try
                {
                    await primaryTask.WaitAsync(HedgeDelay(primary), _time).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // The delay passed first: hedge.
                }
            }

            if (primaryTask.IsCompleted)
            {
                return new HedgedAttempt(await primaryTask.ConfigureAwait(false), primary, null, null);
            }

            if (!_budget.TryAcquireExtra())
            {
                backup.Statistics.RecordBudgetRefusal();
                return new HedgedAttempt(await primaryTask.ConfigureAwait(false), primary, null, null);
            }

            backup.Statistics.RecordHedgeFired();
            FacilitatorTelemetry.Hedges.Add(1, new KeyValuePair<string, object?>("facilitator.upstream.id", backup.Id), new KeyValuePair<string, object?>("facilitator.hedge", "fired"));
            backupCancel = new HedgedAttemptCancellation(callerAborted);
            var backupStarted = Stopwatch.GetTimestamp();
            backupTask = UpstreamCall.SendAsync(backup, operation, body, query, _options.MaxResponseBodyBytes, callerAborted, 2, hedged: true, attemptSource: backupCancel);

            var done = await Task.WhenAny(primaryTask, backupTask).ConfigureAwait(false);
            var primaryFirst = done == primaryTask;
            var firstResult = await done.ConfigureAwait(false);
            var (firstFrom, other, otherFrom, otherCancel) = primaryFirst
                ? (primary, backupTask, backup, backupCancel)
                : (backup, primaryTask, primary, primaryCancel);
            if (firstResult.Answered)
            {
                await otherCancel.SupersedeAsync().ConfigureAwait(false);
                Discard(other);

                // The loser was at least this slow: without the sample its recent p95 (its hedge delay) would drift down.
                var loserElapsed = Stopwatch.GetElapsedTime(primaryFirst ? backupStarted : primaryStarted);
                otherFrom.Statistics.Recent.Record((long)loserElapsed.TotalMicroseconds, _time.GetUtcNow());
                return new HedgedAttempt(firstResult, firstFrom, null, null) { CancelledLoser = true };
            }

            return new HedgedAttempt(firstResult, firstFrom, await other.ConfigureAwait(false), otherFrom);
        }
        finally
        {
            // Whatever ended the race (an answer, the caller, an exception), no attempt outlives it: one still running is
            // cancelled and its end observed before its source goes.
            await AbandonAsync(primaryTask, primaryCancel).ConfigureAwait(false);
            if (backupCancel is not null)
            {
                await AbandonAsync(backupTask!, backupCancel).ConfigureAwait(false);
                backupCancel.Dispose();
            }
        }
    }

    private static async ValueTask AbandonAsync(Task<AttemptResult> attempt, HedgedAttemptCancellation cancellation)
    {
        if (!attempt.IsCompleted && !cancellation.Superseded)
        {
            await cancellation.SupersedeAsync().ConfigureAwait(false);
            Discard(attempt);
        }
    }

    /// <summary>The sooner of a known delay and an upstream's <c>Retry-After</c> (seconds, or an HTTP date), in whole seconds.</summary>
    private int? Sooner(int? known, string? retryAfter)
    {
        if (retryAfter is null)
        {
            return known;
        }

        int seconds;
        if (int.TryParse(retryAfter, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed))
        {
            seconds = parsed;
        }
        else if (DateTimeOffset.TryParse(retryAfter, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
        {
            seconds = (int)Math.Clamp(Math.Ceiling((at - _time.GetUtcNow()).TotalSeconds), 0, 86_400);
        }
        else
        {
            return known;
        }

        seconds = Math.Clamp(seconds, 0, 86_400);
        return known is { } k && k <= seconds ? k : seconds;
    }

    /// <summary>The hedge delay of an upstream: its recent p95, within the configured bounds; the upper bound while unknown.</summary>
    private TimeSpan HedgeDelay(Upstream upstream)
    {
        var p95 = upstream.Statistics.Recent.P95(_time.GetUtcNow());
        var milliseconds = p95 is { } micros ? Math.Clamp(micros / 1000.0, _options.HedgeMinDelayMs, _options.HedgeMaxDelayMs) : _options.HedgeMaxDelayMs;
        return TimeSpan.FromMilliseconds(milliseconds);
    }

    /// <summary>Observes a cancelled request's end and returns its buffer, if it still produced an answer.</summary>
    private static void Discard(Task<AttemptResult> task) =>
        _ = task.ContinueWith(
            static t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    t.Result.Body?.Dispose();
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    private static int NextHealthy(Candidate[] candidates, int from, int count)
    {
        for (var i = from; i < count; i++)
        {
            if (candidates[i] is { Upstream: not null, Trial: false })
            {
                return i;
            }
        }

        return -1;
    }

    private static RoutingSnapshot StickySnapshot(Upstream upstream) => new([new UpstreamRoute(upstream, true)], false, 0);

    /// <summary>An upstream in the order of one call; <see cref="Trial"/> when it may only be tried as the one trial after its cool-down.</summary>
    internal readonly record struct Candidate(Upstream? Upstream, bool Trial);

    /// <summary>The attempts of one (possibly hedged) try, in the order they finished.</summary>
    private readonly record struct HedgedAttempt(AttemptResult First, Upstream FirstFrom, AttemptResult? Second, Upstream? SecondFrom)
    {
        /// <summary>A hedge fired and the slower request was cancelled once the faster one answered.</summary>
        public bool CancelledLoser { get; init; }

        public int Count => Second is null ? 1 : 2;

        public (AttemptResult Result, Upstream From) this[int index] => index == 0 ? (First, FirstFrom) : (Second!.Value, SecondFrom!);
    }

    /// <summary>Records one attempt's outcome in statistics, health and the operation log.</summary>
    /// <param name="awaitCorroboration">
    /// A failure of the answer (5xx, garbage, a timeout, a broken connection) to a request that carries a caller's input
    /// is not counted against health yet: the caller's input may have provoked it. It is counted (by
    /// <see cref="CountCorroborated"/>) once another upstream answered the same request properly; otherwise not.
    /// Unreachable upstreams, and everything probes find, count at once.
    /// </param>
    /// <returns>True when the failure awaits corroboration.</returns>
    public bool Record(Upstream upstream, FacilitatorOperation operation, int attempt, in AttemptResult result, bool awaitCorroboration = false)
    {
        var now = _time.GetUtcNow();
        var againstHealth = result.Failure.CountsAgainstHealth();
        upstream.Statistics.Record(operation, !againstHealth, result.ElapsedMicroseconds, now);
        var elapsedMs = result.ElapsedMicroseconds / 1000.0;
        var name = FacilitatorOperations.Name(operation);
        string? error = null;
        var deferred = false;
        var credentials = upstream.CredentialState.Observe(operation, result);
        if (credentials == CredentialTransition.Refused)
        {
            RoutingLog.CredentialsRefused(_logger, upstream.Id, name, result.Detail ?? "");
        }
        else if (credentials == CredentialTransition.Accepted)
        {
            RoutingLog.CredentialsAccepted(_logger, upstream.Id, name);
        }

        if (result.Answered || result.Failure == AttemptFailure.NotOffered)
        {
            _health.RecordSuccess(upstream.Id, now, now - TimeSpan.FromMicroseconds(result.ElapsedMicroseconds));
            if (result.Answered)
            {
                RoutingLog.Answered(_logger, _answerLevel, name, upstream.Id, result.StatusCode, elapsedMs, attempt);
            }
        }
        else if (!againstHealth)
        {
            // A rejection of the request or a rate limit: neither proof of health nor of failure, so neither is counted.
            error = result.Describe();
            RoutingLog.AttemptDeclined(_logger, name, attempt, upstream.Id, error);
        }
        else
        {
            error = result.Describe();
            if (result.Failure != AttemptFailure.CredentialsRefused)
            {
                RoutingLog.AttemptFailed(_logger, name, attempt, upstream.Id, error);
            }
            else if (credentials == CredentialTransition.None)
            {
                // Logged once when the refusal started: a request per second must not become a warning per second.
                RoutingLog.CredentialsStillRefused(_logger, name, attempt, upstream.Id);
            }

            deferred = awaitCorroboration && operation != FacilitatorOperation.Supported && result.Failure.IsAnswerFailure();
            if (!deferred)
            {
                CountFailure(upstream, now, error);
            }
        }

        _operations.Add(new OperationRecord(
            now, upstream.Id, name, result.Answered, attempt, result.StatusCode == 0 ? null : result.StatusCode, elapsedMs, error));
        return deferred;
    }

    /// <summary>Counts failures that another upstream's proper answer to the same request showed to be the upstream's own.</summary>
    private void CountCorroborated(List<(Upstream Upstream, string Error)>? failures)
    {
        if (failures is null)
        {
            return;
        }

        var now = _time.GetUtcNow();
        foreach (var (upstream, error) in failures)
        {
            CountFailure(upstream, now, error);
        }
    }

    private void CountFailure(Upstream upstream, DateTimeOffset now, string error)
    {
        // Held before the failure is counted: the transition it may cause publishes a snapshot that lets trials in.
        upstream.HoldTrialsUntil(now + _cooldown);
        _health.RecordFailure(upstream.Id, now, error, _options.MaxConsecutiveFailures);
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
