using System.Globalization;

namespace Facilitator.Fast.Load;

/// <summary>
/// The chaos run's timeline of faults, at fractions of the run's duration (a fault injected late because the previous
/// recovery took long is injected at once): at 10 % <c>kill -9</c> of instance B and its restart on the same port; at
/// 20 % Redis paused 3 s (SIGSTOP, SIGCONT); at 50 % Redis stopped (SIGTERM, append-only file written) and started again
/// on its port; at 60 % the primary upstream refuses, at 68 % answers again, at 74 % (once both instances route to it
/// again) hangs, at 79 % B is killed again (its settles held by the primary) and restarted, at 84 % the primary answers
/// again. After each Redis fault it waits until Redis is back for the fleet: both
/// instances report it reachable, and an event published on each instance reaches the other's subscribers.
/// </summary>
internal static class ChaosFaults
{
    public static async Task InjectAsync(
        ChaosFleet fleet, LocalRedis redis, ChaosUpstream primary, ChaosTraffic traffic, ChaosTimeline timeline, List<ChaosSubscriber> subscribers,
        TimeSpan duration, Func<double> clock, List<string> failures, CancellationToken stop)
    {
        var d = duration.TotalSeconds;
        async Task At(double fraction)
        {
            var wait = (fraction * d) - clock();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait), stop);
            }
        }

        // Redis is back for the fleet once both instances report it reachable and an event published on each instance
        // reaches the other's subscribers again: pub/sub delivers at most once, and each connection comes back on its own.
        async Task RedisBackAsync(string what)
        {
            if (!await ChaosScenario.UntilAsync(() => ChaosScenario.AllSeeAsync(fleet, "redis", "ok"), TimeSpan.FromSeconds(30)))
            {
                failures.Add($"chaos: the instances did not report Redis reachable within 30 s ({what})");
                timeline.RedisCameBack(clock() + d);
                return;
            }

            var reachable = clock();
            timeline.Note(reachable, $"both instances report Redis reachable again ({what})");
            double? relayed = reachable;
            for (var from = 0; from < fleet.Count && relayed is not null; from++)
            {
                var listening = subscribers.Where(s => s.Instance != from && s.Generation == fleet[s.Instance].Generation && s.StayedConnected).ToList();
                double? sent = null;
                var started = clock();
                while (sent is null && clock() - started < 30)
                {
                    sent = await traffic.ProbeRelayAsync(from, listening, TimeSpan.FromMilliseconds(250));
                }

                relayed = sent is { } at ? Math.Max(relayed.Value, at) : null;
            }

            if (relayed is { } back)
            {
                timeline.RedisCameBack(back);
                timeline.Note(clock(), string.Create(CultureInfo.InvariantCulture,
                    $"events relayed between the instances again: probes sent from {back:F2} s on reached the other instance ({(back - reachable) * 1000:F0} ms after Redis was reported reachable)"));
            }
            else
            {
                failures.Add($"chaos: events were not relayed between the instances within 30 s of Redis being reported reachable ({what})");
                timeline.RedisCameBack(clock() + d);
            }
        }

        // What the instances themselves counted as not relayed across a Redis fault (status API), to set beside what the subscribers missed.
        long? relayFailures = null;
        async Task RelayFailuresSinceAsync(string fault)
        {
            var now = await ChaosScenario.RelayFailuresAsync(fleet);
            timeline.Note(clock(), now is { } after && relayFailures is { } before
                ? $"relay failures counted by the instances across {fault}: {after - before}"
                : $"relay failures across {fault}: the status API could not be read");
        }

        async Task KillAndRestartAsync(string phase, string why)
        {
            var killed = fleet[1];
            timeline.Phase(clock(), phase);
            var inFlight = killed.InFlight;
            timeline.Note(clock(), $"kill -9 instance B (pid {killed.Service!.ProcessId}{why}, {inFlight} requests in flight on it); the balancer sends everything to A");
            await fleet.KillAsync(1);
            await fleet.RestartAsync(1);
            timeline.Note(clock(), $"instance B ready again (pid {killed.Service!.ProcessId}, same port); back in the balancer");
            subscribers.AddRange(await ChaosScenario.SubscribeAsync(killed, clock, stop));
            timeline.Note(clock(), $"{ChaosScenario.SubscribersPerInstance} new subscribers connected to B");
        }

        await At(0.10);
        await KillAndRestartAsync("instance B killed and restarting", "");
        timeline.Phase(clock(), "steady after the restart");

        await At(0.20);
        relayFailures = await ChaosScenario.RelayFailuresAsync(fleet);
        timeline.Phase(clock(), "Redis paused");
        timeline.RedisWentDown(clock());
        redis.Pause();
        timeline.Note(clock(), $"Redis paused (SIGSTOP to pid {redis.ProcessId}) for 3 s");
        await Task.Delay(TimeSpan.FromSeconds(3), stop);
        redis.Resume();
        timeline.Note(clock(), "Redis resumed (SIGCONT)");
        await RedisBackAsync("after the pause");
        await RelayFailuresSinceAsync("the pause");
        timeline.Phase(clock(), "steady after the pause");

        await At(0.50);
        relayFailures = await ChaosScenario.RelayFailuresAsync(fleet);
        timeline.Phase(clock(), "Redis restarting");
        timeline.RedisWentDown(clock());
        timeline.Note(clock(), "Redis stopping (SIGTERM: it writes its append-only file and exits)");
        await redis.StopAsync();
        timeline.Note(clock(), "Redis stopped");
        await redis.StartAgainAsync();
        timeline.Note(clock(), $"Redis started again on the same port from its append-only file (pid {redis.ProcessId})");
        await RedisBackAsync("after the restart");
        await RelayFailuresSinceAsync("the restart");
        timeline.Phase(clock(), "steady after the Redis restart");

        await At(0.60);
        primary.Mode = ChaosUpstream.UpstreamMode.Refusing;
        timeline.Phase(clock(), "primary refusing");
        timeline.Note(clock(), "the primary upstream refuses everything (503, nothing processed)");

        await At(0.68);
        primary.Mode = ChaosUpstream.UpstreamMode.Serving;
        timeline.Phase(clock(), "primary recovering");
        timeline.Note(clock(), "the primary upstream answers again");

        // The hang must meet a primary the instances route to again, or no settle would reach it.
        if (await ChaosScenario.UntilAsync(() => ChaosScenario.AllSeeAsync(fleet, "upstream:primary", "healthy"), TimeSpan.FromSeconds(30)))
        {
            timeline.Note(clock(), "both instances route to the primary again");
        }
        else
        {
            failures.Add("chaos: the primary upstream was not healthy again on both instances within 30 s of answering");
        }

        await At(0.74);
        primary.Mode = ChaosUpstream.UpstreamMode.Hanging;
        timeline.Phase(clock(), "primary hanging");
        timeline.Note(clock(), "the primary upstream hangs (settles processed, every answer held until the caller gives up)");

        // An owner killed while the upstream holds its settles: the claims it leaves name the primary, and must be
        // answered pending, then retried there only once their lease lapses.
        await At(0.79);
        await KillAndRestartAsync("instance B killed while the primary hangs", " while the primary holds its settles");
        timeline.Phase(clock(), "primary hanging, B restarted");

        await At(0.84);
        primary.Mode = ChaosUpstream.UpstreamMode.Serving;
        timeline.Phase(clock(), "primary recovered");
        timeline.Note(clock(), "the primary upstream answers again");
    }
}
