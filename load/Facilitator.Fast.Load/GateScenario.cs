using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Load;

/// <summary>
/// The load gate CI runs: the published AOT binary with a real redis-server and fake upstreams, driven by verify
/// (valid payments that reach the upstream; invalid ones answered locally), settle, supported and a ramped mixed
/// profile, then the <c>/v1</c> lifecycle (<see cref="LifecycleScenario"/>), with payments signed before the run. It fails on any 5xx, any wrong answer (a valid payment refused, an
/// invalid one accepted or sent upstream) and any lost settle; it reports speed but does not judge it.
/// </summary>
internal static class GateScenario
{
    public static Task<(List<LoadReport> Reports, List<string> Failures)> RunAsync(string binary, double rate, TimeSpan duration) =>
        WithServiceAsync(binary, (client, upstream) => AllAsync(client, upstream, rate, duration));

    /// <summary>
    /// The <c>/v1</c> lifecycle alone, against the same service set-up: <paramref name="instances"/> instances sharing
    /// one redis-server, or a three-primary Redis Cluster with <paramref name="cluster"/>, each request sent to the next
    /// instance in turn (a payment's verify, settle and status land on different instances).
    /// </summary>
    public static Task<(List<LoadReport> Reports, List<string> Failures)> RunLifecycleAsync(string binary, double rate, TimeSpan duration, int instances = 1, bool cluster = false) =>
        WithServiceAsync(binary, async (client, upstream) =>
        {
            var failures = new List<string>();
            var reports = await LifecycleScenario.RunAsync(client, () => upstream.Settles, rate, duration, failures);
            var setUp = $"{instances} instance{(instances == 1 ? "" : "s")}, {(cluster ? "Redis Cluster (3 primaries)" : "one redis-server")}";
            foreach (var report in reports)
            {
                report.Facts["set-up"] = setUp;
            }

            return (reports, failures);
        }, instances, cluster);

    private static async Task<(List<LoadReport> Reports, List<string> Failures)> WithServiceAsync(
        string binary, Func<HttpClient, LatencyUpstream, Task<(List<LoadReport> Reports, List<string> Failures)>> run, int instances = 1, bool cluster = false)
    {
        await using var single = cluster ? null : await LocalRedis.StartAsync();
        await using var redisCluster = cluster ? await LocalRedisCluster.StartAsync(3) : null;
        var redisConnection = single?.ConnectionString ?? redisCluster!.ConnectionString;
        await using var upstream = await LatencyUpstream.StartAsync(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(2), 0);
        var services = new List<ServiceProcess>();
        try
        {
            for (var i = 0; i < instances; i++)
            {
                services.Add(await ServiceProcess.StartAsync(binary, new Dictionary<string, string>
                {
                    ["FACILITATOR_1_URL"] = upstream.Url,
                    ["FACILITATOR_2_ENABLED"] = "false",
                    ["Redis__ConnectionString"] = redisConnection,
                    ["Redis__ShardedPubSub"] = cluster ? "true" : "false",

                    // All of the load comes from one address: the default rate limits (on) must not throttle it; the
                    // connection limit per client is lifted because this client opens many.
                    ["Edge__Limits__MaxConnectionsPerClient"] = "0",
                }));
            }

            using var client = new HttpClient(new RoundRobinHandler([.. services.Select(static s => s.Port)], new SocketsHttpHandler { MaxConnectionsPerServer = 512 }))
            {
                BaseAddress = services[0].BaseAddress,
                Timeout = TimeSpan.FromSeconds(10),
            };
            return await run(client, upstream);
        }
        finally
        {
            foreach (var service in services)
            {
                await service.DisposeAsync();
            }
        }
    }

    private static async Task<(List<LoadReport> Reports, List<string> Failures)> AllAsync(HttpClient client, LatencyUpstream upstream, double rate, TimeSpan duration)
    {
        var perScenario = (int)(rate * duration.TotalSeconds) + 1;
        var payer = PaymentSigner.CreatePayer(4021);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var valid = Sign(payer, 512, now, 0);
        var invalid = valid.Select(p => p.Replace("\"value\":\"10000\"", "\"value\":\"10001\"", StringComparison.Ordinal)).ToArray();
        var settles = Sign(payer, perScenario, now, 100_000);
        var mixedSettles = Sign(payer, perScenario, now, 200_000);

        var failures = new List<string>();
        var reports = new List<LoadReport>();

        reports.Add(await new ConstantRateRun("verify, valid payments (to the upstream)", rate, duration)
            .RunAsync((i, ct) => SendAsync(client, "/verify", valid[i % valid.Length], "\"isValid\":true", ct)));

        var verifiesBefore = upstream.Verifies;
        reports.Add(await new ConstantRateRun("verify, invalid payments (answered locally)", rate, duration)
            .RunAsync((i, ct) => SendAsync(client, "/verify", invalid[i % invalid.Length], "\"isValid\":false", ct)));
        if (upstream.Verifies != verifiesBefore)
        {
            failures.Add($"{upstream.Verifies - verifiesBefore} invalid payments reached the upstream");
        }

        var settlesBefore = upstream.Settles;
        var settleReport = await new ConstantRateRun("settle, one authorization each", rate, duration)
            .RunAsync((i, ct) => SendAsync(client, "/settle", settles[i], "\"success\":true", ct));
        reports.Add(settleReport);
        CheckSettles(failures, settleReport, upstream.Settles - settlesBefore);

        reports.Add(await new ConstantRateRun("supported", rate, duration)
            .RunAsync((_, ct) => SendAsync(client, "/supported", null, "\"kinds\"", ct)));

        settlesBefore = upstream.Settles;
        var settled = 0L;
        var mixed = await new ConstantRateRun("mixed: 60% valid verify, 20% invalid, 10% settle, 10% supported", LoadModel.Ramp(rate / 2, rate * 1.5, duration))
            .RunAsync((i, ct) => (i % 10) switch
            {
                < 6 => SendAsync(client, "/verify", valid[i % valid.Length], "\"isValid\":true", ct),
                < 8 => SendAsync(client, "/verify", invalid[i % invalid.Length], "\"isValid\":false", ct),
                8 => CountedAsync(SendAsync(client, "/settle", mixedSettles[i / 10], "\"success\":true", ct)),
                _ => SendAsync(client, "/supported", null, "\"kinds\"", ct),
            });
        reports.Add(mixed);
        if (upstream.Settles - settlesBefore != settled)
        {
            failures.Add($"mixed: {settled} settles answered, {upstream.Settles - settlesBefore} reached the upstream");
        }

        // The /v1 lifecycle (verify, settle by id, status) with the records in Redis, at half the rate: three calls each.
        reports.AddRange(await LifecycleScenario.RunAsync(client, () => upstream.Settles, Math.Max(rate / 2, 1), duration, failures));

        foreach (var report in reports)
        {
            var bad = report.Outcomes.Where(o => o.Key != "ok").ToList();
            if (report.Scenario.StartsWith("v1 lifecycle", StringComparison.Ordinal))
            {
                continue;
            }

            if (bad.Count > 0)
            {
                failures.Add($"{report.Scenario}: " + string.Join(", ", bad.Select(o => $"{o.Key}: {o.Value}")));
            }
        }

        return (reports, failures);

        async Task<string> CountedAsync(Task<string> send)
        {
            var outcome = await send;
            if (outcome == "ok")
            {
                Interlocked.Increment(ref settled);
            }

            return outcome;
        }
    }

    private static void CheckSettles(List<string> failures, LoadReport report, long reachedUpstream)
    {
        var answered = report.Outcomes.GetValueOrDefault("ok");
        if (answered != reachedUpstream)
        {
            failures.Add($"settle: {answered} settles answered, {reachedUpstream} reached the upstream");
        }
    }

    private static string[] Sign(PaymentSigner.Payer payer, int count, long now, int firstNonce) =>
        [.. Enumerable.Range(0, count).Select(i => PaymentSigner.Request(payer, i % 2 == 0 ? 2 : 1, now - 600, now + 900, nonceSeed: firstNonce + i))];

    private static async Task<string> SendAsync(HttpClient client, string path, string? body, string expected, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        if (body is null)
        {
            response = await client.GetAsync(path, cancellationToken);
        }
        else
        {
            using var content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
            response = await client.PostAsync(path, content, cancellationToken);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = (int)response.StatusCode;
            return status >= 500 ? $"HTTP {status}"
                : status != 200 || !text.Contains(expected, StringComparison.Ordinal) ? "wrong answer"
                : "ok";
        }
    }
}
