using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Facilitator.Fast.Load;

/// <summary>
/// The chaos run: two instances of the published binary behind a balancer, one real redis-server (append-only file on)
/// and two upstreams (<see cref="ChaosUpstream"/>), under a constant mixed load (<see cref="ChaosTraffic"/>) with
/// WebSocket subscribers on both instances, while a timeline kills one instance (<c>kill -9</c>) and starts it again,
/// pauses Redis for 3 s (SIGSTOP, SIGCONT), restarts Redis (stop, start on the same port), and makes the primary
/// upstream refuse, recover, hang and recover. Then it asks again every settle an upstream processed or the gateway
/// answered pending or could not answer, and judges the run
/// (<see cref="ChaosVerdict"/>): nothing settled twice, nothing lost, every request answered, 5xx only where the
/// README allows them, and no event missed by a subscriber that stayed connected.
/// </summary>
internal static class ChaosScenario
{
    internal const int SubscribersPerInstance = 4;

    /// <param name="output">Where to write every request of the run (<c>chaos-calls.csv</c>) and the timeline (<c>chaos-timeline.md</c>).</param>
    /// <param name="settings">Settings of both instances over the run's own (environment variable names).</param>
    public static async Task<(List<LoadReport> Reports, List<string> Failures)> RunAsync(
        string binary, double rate, TimeSpan duration, string output, IReadOnlyDictionary<string, string> settings)
    {
        var t0 = Stopwatch.GetTimestamp();
        double Clock() => Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var timeline = new ChaosTimeline();
        var failures = new List<string>();
        var appendOnly = Path.Combine(Path.GetTempPath(), $"facilitator-chaos-{Environment.ProcessId}-{Guid.NewGuid():N}");
        ChildProcesses.Track(appendOnly);
        try
        {
            await using var redis = await LocalRedis.StartAsync(appendOnly);
            await using var primary = await ChaosUpstream.StartAsync("primary", Clock);
            await using var secondary = await ChaosUpstream.StartAsync("secondary", Clock);
            await using var fleet = await ChaosFleet.StartAsync(binary, Settings(redis, primary, secondary, settings), 2);
            var count = (int)LoadModel.Constant(rate, duration).TotalRequests;
            var traffic = new ChaosTraffic(fleet, Clock, count);
            using var stop = new CancellationTokenSource();
            var subscribers = new List<ChaosSubscriber>();
            try
            {
                t0 = Stopwatch.GetTimestamp();
                timeline.Note(0, string.Create(CultureInfo.InvariantCulture,
                    $"start: instances A (pid {fleet[0].Service!.ProcessId}) and B (pid {fleet[1].Service!.ProcessId}), redis-server (pid {redis.ProcessId}, appendonly yes), upstreams primary and secondary; {rate}/s for {duration.TotalSeconds} s"));
                for (var i = 0; i < fleet.Count; i++)
                {
                    subscribers.AddRange(await SubscribeAsync(fleet[i], Clock, stop.Token));
                }

                timeline.Note(Clock(), $"{subscribers.Count} subscribers connected ({SubscribersPerInstance} per instance)");
                var load = new ConstantRateRun("chaos: mixed load on two instances (verify, settle, /v1 lifecycle)", rate, duration).RunAsync(traffic.SendAsync);
                await ChaosFaults.InjectAsync(fleet, redis, primary, traffic, timeline, subscribers, duration, Clock, failures, stop.Token);
                var whole = await load;
                timeline.Note(Clock(), string.Create(CultureInfo.InvariantCulture, $"load ended: {whole.Requests} scheduled requests answered or failed"));

                // Before asking the settles again: the primary back in every instance's routing, so a pending settle can be asked where it is.
                if (!await UntilAsync(() => AllSeeAsync(fleet, "upstream:primary", "healthy"), TimeSpan.FromSeconds(30)))
                {
                    failures.Add("chaos: the primary upstream was not healthy again on both instances within 30 s of its recovery");
                }

                var verdict = new ChaosVerdict(traffic, timeline, [primary, secondary], subscribers);
                await UntilAsync(() => Task.FromResult(verdict.MissingEvents().Count == 0), TimeSpan.FromSeconds(10));
                var missing = verdict.MissingEvents();
                timeline.Note(Clock(), $"events checked ({missing.Count} missing); asking again every settle an upstream processed or that was left pending or unanswered");
                await verdict.RepeatSettledAsync();
                timeline.Note(Clock(), "repeats answered; judging");
                await stop.CancelAsync();
                await Task.WhenAll(subscribers.Select(s => s.StoppedAsync()));
                failures.AddRange(verdict.Judge(missing));
                var reports = new List<LoadReport> { whole };
                verdict.Describe(whole, missing);
                whole.Facts["event relay (status API)"] = string.Join("; ", await Task.WhenAll(Enumerable.Range(0, fleet.Count).Select(i => RelayStatisticsAsync(fleet[i]))));
                reports.AddRange(verdict.PhaseReports(Clock()));
                Console.WriteLine("Chaos timeline:\n\n" + timeline.Markdown());
                Directory.CreateDirectory(output);
                await File.WriteAllTextAsync(Path.Combine(output, "chaos-timeline.md"), timeline.Markdown());
                await File.WriteAllLinesAsync(Path.Combine(output, "chaos-calls.csv"), traffic.Calls.OrderBy(c => c.Sent).Select(c => string.Create(CultureInfo.InvariantCulture,
                    $"{c.Sent:F3},{c.Answered:F3},{c.Kind},{fleet[c.Instance].Name},{c.Generation},{c.Outcome},{c.Index},{c.Success},{c.Replayed},{c.Transaction},\"{c.Detail.Replace("\"", "\"\"", StringComparison.Ordinal)}\""))
                    .Prepend("sent_s,answered_s,kind,instance,generation,outcome,payment,success,replayed,transaction,detail"));
                return (reports, failures);
            }
            finally
            {
                await stop.CancelAsync();
                foreach (var subscriber in subscribers)
                {
                    subscriber.Dispose();
                }

                // Whatever failed, Redis is never left frozen for the processes that end with the run.
                redis.Resume();
            }
        }
        finally
        {
            try
            {
                Directory.Delete(appendOnly, recursive: true);
            }
            catch (IOException)
            {
            }

            ChildProcesses.Forget(appendOnly);
        }
    }

    private static Dictionary<string, string> Settings(LocalRedis redis, ChaosUpstream primary, ChaosUpstream secondary, IReadOnlyDictionary<string, string> overrides)
    {
        var settings = Defaults(redis, primary, secondary);
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static Dictionary<string, string> Defaults(LocalRedis redis, ChaosUpstream primary, ChaosUpstream secondary) => new()
    {
        ["FACILITATOR_1_URL"] = primary.Url,
        ["FACILITATOR_1_ID"] = primary.Id,
        ["FACILITATOR_2_URL"] = secondary.Url,
        ["FACILITATOR_2_ID"] = secondary.Id,
        ["FACILITATOR_3_ENABLED"] = "false",
        ["REDIS_URL"] = $"redis://127.0.0.1:{redis.Port}",

        // The timeline is seconds long: a hung upstream is given up on within it, and a recovered one probed back.
        ["FACILITATOR_TIMEOUT_MS"] = "1000",
        ["Aggregator__SettleTimeoutMs"] = "1500",
        ["FACILITATOR_HEALTH_CHECK_INTERVAL_MS"] = "2000",

        // All of the load and every subscriber come from this machine's one address.
        ["Edge__Limits__MaxConnectionsPerClient"] = "0",
        ["Events__MaxConnectionsPerClient"] = "0",
    };

    internal static async Task<List<ChaosSubscriber>> SubscribeAsync(ChaosFleet.Instance instance, Func<double> clock, CancellationToken stop)
    {
        var subscribers = new List<ChaosSubscriber>();
        for (var i = 0; i < SubscribersPerInstance; i++)
        {
            subscribers.Add(await ChaosSubscriber.ConnectAsync(instance, clock, stop));
        }

        return subscribers;
    }

    /// <summary>Whether every instance's <c>/health</c> reports <paramref name="check"/> as <paramref name="value"/>.</summary>
    internal static async Task<bool> AllSeeAsync(ChaosFleet fleet, string check, string value)
    {
        for (var i = 0; i < fleet.Count; i++)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                using var response = await fleet[i].Client.GetAsync("/health", timeout.Token);
                var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync(timeout.Token)).RootElement;
                if (!root.GetProperty("checks").TryGetProperty(check, out var seen) || seen.GetString() != value)
                {
                    return false;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The instance's own counts of the event relay, from <c>/api/facilitator-status</c>.</summary>
    private static async Task<string> RelayStatisticsAsync(ChaosFleet.Instance instance) =>
        await EventsSectionAsync(instance) is { } section
            ? string.Create(CultureInfo.InvariantCulture,
                $"{instance.Name} since its start: published {section.GetProperty("eventsPublished")}, from the other instance {section.GetProperty("eventsFromOtherInstances")}, relay failures {section.GetProperty("relayFailures")}, publishes dropped {section.GetProperty("publishDropped")}")
            : $"{instance.Name}: the status API's events section could not be read";

    /// <summary>Relay failures counted by every instance so far (null when a status API could not be read).</summary>
    internal static async Task<long?> RelayFailuresAsync(ChaosFleet fleet)
    {
        long total = 0;
        for (var i = 0; i < fleet.Count; i++)
        {
            if (await EventsSectionAsync(fleet[i]) is not { } section)
            {
                return null;
            }

            total += section.GetProperty("relayFailures").GetInt64();
        }

        return total;
    }

    private static async Task<JsonElement?> EventsSectionAsync(ChaosFleet.Instance instance)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var text = await instance.Client.GetStringAsync("/api/facilitator-status?include=stats", timeout.Token);
            return Find(JsonDocument.Parse(text).RootElement, "relayFailures");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException)
        {
            return null;
        }

        static JsonElement? Find(JsonElement element, string property)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (element.TryGetProperty(property, out _))
            {
                return element.Clone();
            }

            foreach (var child in element.EnumerateObject())
            {
                if (Find(child.Value, property) is { } found)
                {
                    return found;
                }
            }

            return null;
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="deadline"/> has passed.</summary>
    internal static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan deadline)
    {
        var started = Stopwatch.StartNew();
        while (!await condition())
        {
            if (started.Elapsed > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }
}
