using System.Globalization;
using HdrHistogram;

namespace Facilitator.Fast.Load;

/// <summary>
/// Judges a chaos run from the upstreams' own per-nonce counts, the answers the client got and what each subscriber
/// read. An upstream <i>settled</i> a nonce when it answered its success or held the answer while hanging (it may have
/// submitted it); a repeat at that same upstream is answered that settlement again, as real facilitators answer an
/// identical payload. The run fails when an authorization reached a second upstream after one settled it, when a
/// success the gateway answered was settled by no upstream or named another transaction, when a settle an upstream
/// processed is not answered its success on a repeat (or a settle answered before reaches an upstream again), when a
/// request timed out or failed on a live instance, on a 5xx other than a 503 while Redis was down for the fleet, on any
/// other answer that is not the expected one, and when a subscriber that stayed connected missed an event it must get
/// (<see cref="MissingEvents"/>).
/// </summary>
internal sealed class ChaosVerdict(ChaosTraffic traffic, ChaosTimeline timeline, ChaosUpstream[] upstreams, List<ChaosSubscriber> subscribers)
{
    private static readonly string[] SettleKinds = ["settle", "settle repeat (other instance)", "v1 settle"];
    private readonly List<string> _repeatFailures = [];
    private int _repeated;
    private int _repeatsReachingUpstream;
    private int _repeatsPending;

    /// <summary>How long a repeat answered pending is asked again: past the settlement lease (10 s) and a waiter's wait.</summary>
    private static readonly TimeSpan RepeatPatience = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Events each subscriber that stayed connected must have read: <c>payment:verified</c> of every verify answered valid
    /// and <c>payment:settled</c> of every settle answered settled by the instance that settled it (not replayed from the
    /// ledger), sent after the subscriber was subscribed — all of them when triggered on the subscriber's own instance
    /// (the same process), and those triggered on the other instance when Redis was up for the fleet from the request's
    /// sending to its answer (<see cref="ChaosTimeline.RedisUpThroughout"/>).
    /// </summary>
    public List<(ChaosSubscriber Subscriber, ChaosCall Call, string Type)> MissingEvents() =>
        Deliveries().Where(d => d.Required && !d.Got).Select(d => (d.Subscriber, d.Call, d.Type)).ToList();

    /// <summary>Events of the other instance triggered while Redis was down for the fleet (not required): how many arrived anyway, per window.</summary>
    public string CrossEventsWhileRedisDown()
    {
        var optional = Deliveries().Where(d => !d.Required && d.Call.Instance != d.Subscriber.Instance && d.Call.Sent >= d.Subscriber.SubscribedAt).ToList();
        return string.Join("; ", timeline.RedisDown.Select(w =>
        {
            var inWindow = optional.Where(d => d.Call.Sent <= w.To && d.Call.Answered >= w.From).ToList();
            return string.Create(CultureInfo.InvariantCulture,
                $"{w.From:F2}–{w.To:F2} s: {inWindow.Count(d => d.Got)} arrived, {inWindow.Count(d => !d.Got)} did not (A→B {inWindow.Count(d => !d.Got && d.Call.Instance == 0)}, B→A {inWindow.Count(d => !d.Got && d.Call.Instance == 1)})");
        }));
    }

    private IEnumerable<(ChaosSubscriber Subscriber, ChaosCall Call, string Type, bool Required, bool Got)> Deliveries()
    {
        var expected = traffic.Calls
            .Where(c => c.Success && (c.Kind is "verify" or "v1 verify" or "relay probe" || (SettleKinds.Contains(c.Kind) && !c.Replayed)))
            .Select(c => (Call: c, Type: SettleKinds.Contains(c.Kind) ? "payment:settled" : "payment:verified"))
            .ToList();
        foreach (var subscriber in subscribers.Where(s => s.StayedConnected))
        {
            foreach (var (call, type) in expected)
            {
                var own = call.Instance == subscriber.Instance && call.Generation == subscriber.Generation;
                var required = call.Sent >= subscriber.SubscribedAt && (own || (call.Instance != subscriber.Instance && timeline.RedisUpThroughout(call.Sent, call.Answered)));
                yield return (subscriber, call, type, required, subscriber.Got(type, traffic.PaymentIds[call.Index]));
            }
        }
    }

    /// <summary>
    /// Asks again, on the other instance than its first settle, every settle an upstream processed, and every settle the
    /// gateway answered pending (202) or that got no answer (cut by the kill): each must now be answered its success (its
    /// own transaction) — a pending one by asking the upstream that holds it, where it settles if it had not; a repeat
    /// answered pending is asked again for up to 30 s, past a killed owner's lease — and one answered settled before must
    /// reach no upstream again.
    /// </summary>
    public async Task RepeatSettledAsync()
    {
        var indexOf = traffic.Nonces.Select((nonce, i) => (nonce, i)).ToDictionary(p => p.nonce, p => p.i, StringComparer.Ordinal);
        var settles = traffic.Calls.Where(c => SettleKinds.Contains(c.Kind)).ToList();
        var open = settles.Where(c => c.Status == 202 || c.Outcome is "cut by kill" or "timeout" or "transport").Select(c => traffic.Nonces[c.Index]);
        var settled = upstreams.SelectMany(u => u.Nonces.Where(n => n.Value.Settled).Select(n => n.Key)).Concat(open).Distinct().ToList();
        var answeredBefore = settles.Where(c => c.Success).Select(c => c.Index).ToHashSet();
        await Parallel.ForEachAsync(settled, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (nonce, _) =>
        {
            if (!indexOf.TryGetValue(nonce, out var index))
            {
                lock (_repeatFailures)
                {
                    _repeatFailures.Add($"an upstream settled {nonce}, which is no payment of the run");
                }

                return;
            }

            var before = Receipts(nonce);
            ChaosCall call;
            var asking = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                call = ChaosTraffic.PathOf(index) == ChaosTraffic.PaymentPath.Lifecycle
                    ? await traffic.CallAsync("final v1 repeat", index + 1, index, "/v1/settle", $$"""{"paymentId":"{{traffic.PaymentIds[index]}}"}""")
                    : await traffic.CallAsync("final repeat", index + 1, index, "/settle", traffic.Bodies[index]);

                // Pending is not an outcome: a claim left by a killed owner is answered pending until its lease lapses.
                if (call.Status != 202 || asking.Elapsed > RepeatPatience)
                {
                    break;
                }

                Interlocked.Increment(ref _repeatsPending);
                await Task.Delay(250, CancellationToken.None);
            }

            Interlocked.Increment(ref _repeated);
            var reached = Receipts(nonce) - before;
            if (reached > 0)
            {
                Interlocked.Increment(ref _repeatsReachingUpstream);
            }

            lock (_repeatFailures)
            {
                if (!call.Success || call.Transaction != ChaosUpstream.TransactionOf(nonce))
                {
                    _repeatFailures.Add($"payment {index} ({nonce[..10]}…), settled by an upstream or left open, was answered {call.Outcome} {call.Transaction} {call.Detail} on a repeat ({call.Kind})");
                }

                if (reached > 0 && answeredBefore.Contains(index))
                {
                    _repeatFailures.Add($"payment {index} ({nonce[..10]}…), answered settled before, reached an upstream again on a repeat ({reached} settles)");
                }
            }
        });
    }

    public List<string> Judge(List<(ChaosSubscriber Subscriber, ChaosCall Call, string Type)> missing)
    {
        var failures = new List<string>();
        var (doubled, _) = Doubled();
        failures.AddRange(doubled.Take(10).Select(d => $"settled twice: {d}"));
        if (doubled.Count > 10)
        {
            failures.Add($"settled twice: {doubled.Count - 10} more");
        }

        var settledByUpstream = upstreams.SelectMany(u => u.Nonces.Where(n => n.Value.Settled).Select(n => n.Key)).ToHashSet(StringComparer.Ordinal);
        foreach (var call in traffic.Calls.Where(c => c.Success && SettleKinds.Concat(["final repeat", "final v1 repeat"]).Contains(c.Kind)))
        {
            var nonce = traffic.Nonces[call.Index];
            if (!settledByUpstream.Contains(nonce))
            {
                failures.Add($"lost: payment {call.Index} was answered settled ({call.Kind} on {Name(call.Instance)} at {call.Sent:F2} s) and no upstream settled it");
            }
            else if (call.Transaction != ChaosUpstream.TransactionOf(nonce))
            {
                failures.Add($"wrong outcome: payment {call.Index} was answered settled with transaction {call.Transaction}, not its own");
            }
        }

        failures.AddRange(_repeatFailures.Take(20).Select(f => "lost: " + f));
        Tally(failures, "timeout", c => c.Outcome == "timeout", "unanswered within " + ChaosTraffic.RequestTimeout.TotalSeconds + " s");
        Tally(failures, "transport", c => c.Outcome == "transport", "failed on a live instance (connection error)");
        Tally(failures, "5xx", c => c.Status >= 500 && !Allowed5xx(c), "5xx the README does not allow (only 503 of a settle or /v1 call while Redis is down)");
        Tally(failures, "wrong answer", c => c.Status is > 0 and < 500 && !c.Success && c.Status != 202, "an answer that is not the expected one");
        foreach (var group in missing.GroupBy(m => (From: Name(m.Call.Instance), To: Name(m.Subscriber.Instance), m.Type)))
        {
            var first = group.MinBy(m => m.Call.Sent);
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"events: {group.Count()} {group.Key.Type} of {group.Select(m => m.Call.Index).Distinct().Count()} payments answered on {group.Key.From} missed by subscribers on {group.Key.To} that stayed connected, triggered {first.Call.Sent:F2}–{group.Max(m => m.Call.Sent):F2} s (first: payment {first.Call.Index}, {first.Call.Kind} at {first.Call.Sent:F2}–{first.Call.Answered:F2} s, subscriber subscribed at {first.Subscriber.SubscribedAt:F2} s)"));
        }

        return failures;
    }

    /// <summary>Adds what the run measured to the whole run's report.</summary>
    public void Describe(LoadReport whole, List<(ChaosSubscriber Subscriber, ChaosCall Call, string Type)> missing)
    {
        var calls = traffic.Calls.ToList();
        var (doubled, refusedThenElsewhere) = Doubled();
        var received = upstreams.Sum(u => u.SettlesReceived);
        var settled = upstreams.SelectMany(u => u.Nonces.Where(n => n.Value.Settled).Select(n => n.Key)).Distinct().Count();
        var sameUpstreamRepeats = upstreams.Sum(u => u.Nonces.Values.Sum(n => n.Receipts.Count(r => r.AlreadySettledHere)));
        whole.Facts["requests (all, answers by kind and status)"] = string.Join("; ", calls.GroupBy(c => c.Kind).OrderBy(g => g.Key)
            .Select(g => $"{g.Key} {g.Count()}: " + string.Join(", ", g.GroupBy(c => c.Outcome).OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Count()}"))));
        whole.Facts["5xx"] = $"{calls.Count(c => c.Status >= 500)} ({calls.Count(c => c.Status >= 500 && Allowed5xx(c))} 503 while Redis was down)";
        whole.Facts["202 (pending) by phase"] = string.Join(", ", calls.Where(c => c.Status == 202).GroupBy(c => timeline.PhaseOf(c.Sent)).Select(g => $"{g.Key} {g.Count()}"));
        whole.Facts["timeouts"] = calls.Count(c => c.Outcome == "timeout").ToString(CultureInfo.InvariantCulture);
        whole.Facts["cut by the kill"] = calls.Count(c => c.Outcome == "cut by kill").ToString(CultureInfo.InvariantCulture);
        whole.Facts["settles received by the upstreams"] = string.Join(", ", upstreams.Select(u => $"{u.Id} {u.SettlesReceived}")) + $" (total {received})";
        whole.Facts["authorizations settled by an upstream"] = settled.ToString(CultureInfo.InvariantCulture);
        whole.Facts["settled twice"] = doubled.Count.ToString(CultureInfo.InvariantCulture);
        whole.Facts["repeats at the upstream that settled (pending asked again there)"] = sameUpstreamRepeats.ToString(CultureInfo.InvariantCulture);
        whole.Facts["refused (503) by one upstream, then settled by the other"] = refusedThenElsewhere.ToString(CultureInfo.InvariantCulture);
        whole.Facts["final repeats"] = $"{_repeated}, {_repeatsReachingUpstream} reached an upstream (open ones, at the upstream holding them), {_repeatsPending} answered pending first and asked again, {_repeatFailures.Count} not answered their success";
        var stayed = subscribers.Where(s => s.StayedConnected).ToList();
        whole.Facts["subscribers"] = $"{subscribers.Count} ({stayed.Count} stayed connected, {subscribers.Count(s => s.Failure is not null)} cut, {subscribers.Count(s => s.Lagged)} lagged)";
        whole.Facts["events"] = $"{subscribers.Sum(s => s.Received)} delivered, {missing.Count} missed";
        whole.Facts["events of the other instance triggered while Redis was down for the fleet (not required; counted per subscriber)"] = CrossEventsWhileRedisDown();
        whole.Facts["Redis down for the fleet"] = string.Join(", ", timeline.RedisDown.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.From:F2}–{w.To:F2} s")));
    }

    /// <summary>One report per phase of the timeline: the requests sent in it, their answers by status, latency percentiles.</summary>
    public IEnumerable<LoadReport> PhaseReports(double end)
    {
        var calls = traffic.Calls.Where(c => !c.Kind.StartsWith("final", StringComparison.Ordinal) && c.Kind != "relay probe").ToList();
        foreach (var (_, name) in timeline.Phases)
        {
            var (from, to) = timeline.SpanOf(name, calls.Count == 0 ? end : calls.Max(c => c.Sent));
            var inPhase = calls.Where(c => timeline.PhaseOf(c.Sent) == name).ToList();
            if (inPhase.Count == 0)
            {
                continue;
            }

            var histogram = new LongHistogram(1, TimeStamp.Seconds(60), 3);
            foreach (var call in inPhase)
            {
                histogram.RecordValue(Math.Max((long)(call.LatencyMs * 1000), 1));
            }

            var outcomes = inPhase.GroupBy(c => c.Success || c.Status == 202 ? (c.Status == 202 ? "202" : "200") : c.Outcome)
                .ToDictionary(g => g.Key, g => (long)g.LongCount(), StringComparer.Ordinal);
            var span = TimeSpan.FromSeconds(Math.Max(to - from, 0.001));
            var report = LoadReport.From(string.Create(CultureInfo.InvariantCulture, $"chaos phase: {name} ({from:F1}–{to:F1} s)"), 0, inPhase.Count, span, histogram, outcomes);
            yield return report;
        }
    }

    private static string Name(int instance) => instance == 0 ? "A" : "B";

    private bool Allowed5xx(ChaosCall call) => call.Status == 503 && call.Kind != "verify" && timeline.OverlapsRedisDown(call.Sent, call.Answered);

    private void Tally(List<string> failures, string what, Func<ChaosCall, bool> bad, string meaning)
    {
        var calls = traffic.Calls.Where(bad).ToList();
        if (calls.Count > 0)
        {
            var first = calls.MinBy(c => c.Sent)!;
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"{what}: {calls.Count} requests {meaning}; first: {first.Kind} on {Name(first.Instance)} at {first.Sent:F2} s → {first.Outcome} {first.Detail}"));
        }
    }

    private int Receipts(string nonce) => upstreams.Sum(u => u.Nonces.TryGetValue(nonce, out var n) ? n.Receipts.Count : 0);

    /// <summary>
    /// Authorizations that reached another upstream after one had settled them (received there in any mode, or settled by
    /// two), and, apart, how many were refused by one upstream and then settled by the other (nothing doubled).
    /// </summary>
    private (List<string> Doubled, int RefusedThenElsewhere) Doubled()
    {
        var doubled = new List<string>();
        var refusedThenElsewhere = 0;
        var nonces = upstreams.SelectMany(u => u.Nonces.Keys).Distinct(StringComparer.Ordinal);
        foreach (var nonce in nonces)
        {
            var receipts = upstreams
                .SelectMany(u => u.Nonces.TryGetValue(nonce, out var n) ? n.Receipts.Select(r => (Upstream: u.Id, Receipt: r)) : [])
                .OrderBy(r => r.Receipt.At)
                .ToList();
            var first = receipts.FindIndex(r => r.Receipt.Mode != ChaosUpstream.UpstreamMode.Refusing);
            var settledBy = upstreams.Count(u => u.Nonces.TryGetValue(nonce, out var n) && n.Settled);
            if (settledBy > 1 || (first >= 0 && receipts.Skip(first + 1).Any(r => r.Upstream != receipts[first].Upstream)))
            {
                var sent = string.Join(", ", receipts.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Upstream} at {r.Receipt.At:F2} s ({r.Receipt.Mode})")));
                doubled.Add($"{nonce[..10]}… {sent}");
            }
            else if (first > 0 && receipts.Take(first).Any(r => r.Upstream != receipts[first].Upstream))
            {
                refusedThenElsewhere++;
            }
        }

        return (doubled, refusedThenElsewhere);
    }
}
