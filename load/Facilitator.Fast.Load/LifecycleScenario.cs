using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Tests.Infrastructure;
using HdrHistogram;

namespace Facilitator.Fast.Load;

/// <summary>
/// The <c>/v1</c> lifecycle at a constant rate: each scheduled payment is verified (<c>/v1/verify</c>), settled by id
/// (<c>/v1/settle</c>) and read back (<c>/v1/status/{id}</c>), one after another, against a running service. It reports
/// the whole lifecycle and each step (p50/p99), and fails on any step that is not the expected answer, on a settle that
/// reached the upstream a number of times other than once per payment (lost or doubled), and on a second round of
/// settles of the same ids that reaches the upstream at all.
/// </summary>
internal static class LifecycleScenario
{
    private static readonly string[] Steps = ["verify", "settle", "status"];

    /// <param name="settlesReachingUpstream">How many settles the upstream has received so far.</param>
    public static async Task<List<LoadReport>> RunAsync(
        HttpClient client, Func<long> settlesReachingUpstream, double rate, TimeSpan duration, List<string> failures)
    {
        var run = new ConstantRateRun("v1 lifecycle: verify, settle by id, status", rate, duration);
        var count = (int)LoadModel.Constant(rate, duration).TotalRequests;
        var payer = PaymentSigner.CreatePayer(4_131);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payments = Enumerable.Range(0, count)
            .Select(i => PaymentSigner.Request(payer, 2, now - 600, now + 900, nonceSeed: 300_000 + i))
            .ToArray();
        var ids = new string?[count];
        var histograms = Steps.ToDictionary(static s => s, static _ => (HistogramBase)new LongConcurrentHistogram(1, TimeStamp.Seconds(60), 3));
        var outcomes = Steps.ToDictionary(static s => s, static _ => new Dictionary<string, long>(StringComparer.Ordinal));
        var before = settlesReachingUpstream();
        var started = Stopwatch.GetTimestamp();

        var whole = await run.RunAsync(async (i, ct) =>
        {
            var verified = await StepAsync("verify", "/v1/verify", payments[i], "\"status\":\"verified\"", ct);
            if (verified.Outcome != "ok")
            {
                return "verify: " + verified.Outcome;
            }

            var id = JsonDocument.Parse(verified.Body).RootElement.GetProperty("paymentId").GetString()!;
            ids[i] = id;
            var settled = await StepAsync("settle", "/v1/settle", $$"""{"paymentId":"{{id}}"}""", "\"status\":\"settled\"", ct);
            if (settled.Outcome != "ok")
            {
                return "settle: " + settled.Outcome;
            }

            var status = await StepAsync("status", $"/v1/status/{id}", null, "\"status\":\"settled\"", ct);
            return status.Outcome == "ok" ? "200" : "status: " + status.Outcome;
        });

        var elapsed = Stopwatch.GetElapsedTime(started);
        var reports = new List<LoadReport> { whole };
        foreach (var step in Steps)
        {
            reports.Add(LoadReport.From($"v1 lifecycle: {step} step", rate, histograms[step].TotalCount, elapsed, histograms[step], outcomes[step]));
        }

        var completed = whole.Outcomes.GetValueOrDefault("200");
        var reached = settlesReachingUpstream() - before;
        whole.Facts["settles reaching the upstream"] = reached.ToString(CultureInfo.InvariantCulture);
        if (completed != count)
        {
            failures.Add($"v1 lifecycle: {count - completed} of {count} payments did not complete: "
                + string.Join(", ", whole.Outcomes.Where(static o => o.Key != "200").Select(static o => $"{o.Key}: {o.Value}")));
        }

        if (reached != ids.Count(static id => id is not null && id.Length > 0) || reached > count)
        {
            failures.Add($"v1 lifecycle: {reached} settles reached the upstream for {ids.Count(static id => id is not null)} verified payments");
        }

        // Settling every payment again must be answered from the records, never reach the upstream.
        var beforeRepeat = settlesReachingUpstream();
        foreach (var chunk in ids.Where(static id => id is not null).Chunk(100))
        {
            var body = "{\"paymentIds\":[" + string.Join(",", chunk.Select(static id => $"\"{id}\"")) + "]}";
            using var content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
            using var response = await client.PostAsync("/v1/settle/batch", content);
            var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (answer.GetProperty("succeeded").GetInt32() != chunk.Length)
            {
                failures.Add($"v1 lifecycle: a batch settle of {chunk.Length} settled payments answered {answer.GetProperty("succeeded").GetInt32()} settled");
            }
        }

        if (settlesReachingUpstream() != beforeRepeat)
        {
            failures.Add($"v1 lifecycle: settling settled payments again reached the upstream {settlesReachingUpstream() - beforeRepeat} times (doubled)");
        }

        return reports;

        async Task<(string Outcome, string Body)> StepAsync(string step, string path, string? body, string expected, CancellationToken ct)
        {
            var stepStarted = Stopwatch.GetTimestamp();
            string outcome;
            var text = "";
            try
            {
                HttpResponseMessage response;
                if (body is null)
                {
                    response = await client.GetAsync(path, ct);
                }
                else
                {
                    using var content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
                    response = await client.PostAsync(path, content, ct);
                }

                using (response)
                {
                    text = await response.Content.ReadAsStringAsync(ct);
                    var status = (int)response.StatusCode;
                    outcome = status >= 500 ? $"HTTP {status}" : status != 200 || !text.Contains(expected, StringComparison.Ordinal) ? "wrong answer" : "ok";
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                outcome = ex is TaskCanceledException ? "timeout" : "transport";
            }

            histograms[step].RecordValue(Math.Max((long)Stopwatch.GetElapsedTime(stepStarted).TotalMicroseconds, 1));
            lock (outcomes[step])
            {
                var key = outcome == "ok" ? "200" : outcome;
                outcomes[step][key] = outcomes[step].GetValueOrDefault(key) + 1;
            }

            return (outcome, text);
        }
    }
}
