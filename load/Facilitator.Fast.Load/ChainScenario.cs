using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Load;

/// <summary>
/// Verify then settle at a constant rate against a real chain: the chain suite's anvil, test token and two official
/// facilitators (<c>tests/chain/serve.mjs</c>) behind the published AOT binary. At the end the chain itself is counted:
/// every settle answered as a success must be exactly one transfer on chain, and no authorization may move twice —
/// no lost and no doubled payment. Each payment is a fresh EIP-3009 authorization signed before the run.
/// </summary>
internal static class ChainScenario
{
    private const long Price = 10_000;

    public static async Task<(List<LoadReport> Reports, List<string> Failures)> RunAsync(string binary, double rate, TimeSpan duration)
    {
        var root = FindRepository();
        using var chain = Process.Start(new ProcessStartInfo("node", [Path.Combine(root, "tests", "chain", "serve.mjs")])
        {
            WorkingDirectory = Path.Combine(root, "tests", "chain"),
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("node did not start.");
        chain.BeginErrorReadLine();
        var line = await chain.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120))
            ?? throw new InvalidOperationException("tests/chain/serve.mjs ended before it was ready (run npm ci in tests/chain).");
        using var setup = JsonDocument.Parse(line);
        var control = setup.RootElement.GetProperty("control").GetString()!;
        var facilitators = setup.RootElement.GetProperty("facilitators").EnumerateArray().Select(f => (f.GetProperty("id").GetString()!, f.GetProperty("url").GetString()!)).ToArray();

        var environment = new Dictionary<string, string>
        {
            ["RateLimit__Enabled"] = "false",
            ["Edge__Limits__MaxConnectionsPerClient"] = "0",
        };
        for (var i = 0; i < facilitators.Length; i++)
        {
            environment[$"Upstreams__{i}__Id"] = facilitators[i].Item1;
            environment[$"Upstreams__{i}__Url"] = facilitators[i].Item2;
        }

        try
        {
            await using var service = await ServiceProcess.StartAsync(binary, environment);
            using var client = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

            var count = (int)(rate * duration.TotalSeconds);
            var payer = PaymentSigner.CreatePayer(7_001);
            await PostJsonAsync(client, $"{control}/mint", $$"""{"to":"{{payer.Address}}","amount":"{{Price * (count + 10)}}"}""");
            var before = await StateAsync(client, control, payer.Address);
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var payments = Enumerable.Range(0, count)
                .Select(i => PaymentSigner.Request(payer, i % 2 == 0 ? 2 : 1, now - 600, now + 1800, Price.ToString(CultureInfo.InvariantCulture), Price.ToString(CultureInfo.InvariantCulture), nonceSeed: i))
                .ToArray();

            var report = await new ConstantRateRun("verify then settle, on chain (anvil, two official facilitators)", rate, duration)
                .RunAsync(async (i, ct) =>
                {
                    var verified = await PostAsync(client, "/verify", payments[i], ct);
                    if (!verified.Contains("\"isValid\":true", StringComparison.Ordinal))
                    {
                        return "verify refused";
                    }

                    var settled = await PostAsync(client, "/settle", payments[i], ct);
                    return settled.Contains("\"success\":true", StringComparison.Ordinal) ? "ok" : "settle failed";
                });

            var after = await StateAsync(client, control, payer.Address);
            var failures = new List<string>();
            var succeeded = report.Outcomes.GetValueOrDefault("ok");
            var transfers = after.Transfers - before.Transfers;
            if (transfers != succeeded)
            {
                failures.Add($"chain: {succeeded} settles answered success, {transfers} transfers on chain");
            }

            if (before.Payer - after.Payer != succeeded * Price)
            {
                failures.Add($"chain: the payer paid {before.Payer - after.Payer}, expected {succeeded * Price} for {succeeded} settles");
            }

            if (succeeded != report.Requests)
            {
                failures.Add($"chain: {report.Requests - succeeded} of {report.Requests} payments did not settle ({string.Join(", ", report.Outcomes.Select(o => $"{o.Key}: {o.Value}"))})");
            }

            return ([report], failures);
        }
        finally
        {
            chain.StandardInput.Close();
            if (!chain.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                chain.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task<(long Payer, long Payee, long Transfers)> StateAsync(HttpClient client, string control, string payer)
    {
        using var state = JsonDocument.Parse(await client.GetStringAsync($"{control}/state?payer={payer}&payee={PaymentSigner.PayTo}"));
        return (
            long.Parse(state.RootElement.GetProperty("payer").GetString()!, CultureInfo.InvariantCulture),
            long.Parse(state.RootElement.GetProperty("payee").GetString()!, CultureInfo.InvariantCulture),
            state.RootElement.GetProperty("transfers").GetInt64());
    }

    private static async Task PostJsonAsync(HttpClient client, string url, string json)
    {
        using var response = await client.PostAsync(url, new StringContent(json, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    private static async Task<string> PostAsync(HttpClient client, string path, string body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var response = await client.PostAsync(path, content, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    private static string FindRepository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Facilitator.Fast.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Facilitator.Fast.sln) was not found above the load suite.");
    }
}
