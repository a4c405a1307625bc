using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace Facilitator.Fast.Load;

/// <summary>
/// The load suite: <c>dotnet run -c Release --project load/Facilitator.Fast.Load -- hedging|overhead|gate|lifecycle|chain|chaos [--set KEY=VALUE]|proxy [--https] [--compare binary]|profile [--refusals]|websocket [--rate 200]
/// [--duration 20] [--binary artifacts/aot/Facilitator.Fast] [--max-error-rate 0.01] [--max-p99-ms 1000] [--out artifacts/load] [--stages 1000x100,10000x10] (websocket: subscribers × events/s)
/// [--instances 2] [--cluster] (lifecycle: instances behind a round-robin client, a Redis Cluster)</c>. Prints a Markdown table, writes Markdown
/// and JSON reports, and exits 1 when a threshold given on the command line is exceeded.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var scenario = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "hedging";
        var rate = Option(args, "--rate", 200);
        var duration = TimeSpan.FromSeconds(Option(args, "--duration", 20));
        var maxErrorRate = Option(args, "--max-error-rate", double.NaN);
        var maxP99 = Option(args, "--max-p99-ms", double.NaN);
        var output = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? Path.Combine("artifacts", "load");

        List<LoadReport> reports;
        var failures = new List<string>();
        switch (scenario)
        {
            case "hedging":
                reports = [await HedgingTailScenario.RunAsync(false, rate, duration), await HedgingTailScenario.RunAsync(true, rate, duration)];
                break;
            case "overhead":
                reports = await OverheadScenario.RunAsync(rate, duration);
                break;
            case "gate":
                (reports, failures) = await GateScenario.RunAsync(Binary(args), rate, duration);
                break;
            case "chain":
                (reports, failures) = await ChainScenario.RunAsync(Binary(args), rate, duration);
                break;
            case "lifecycle":
                (reports, failures) = await GateScenario.RunLifecycleAsync(
                    Binary(args), rate, duration, (int)Option(args, "--instances", 1), args.Contains("--cluster"));
                break;
            case "chaos":
                // --set KEY=VALUE (repeatable): a setting of both instances over the run's own, e.g. Redis__LocalSettlementFallback=true.
                var settings = args.Select((a, i) => (a, i)).Where(p => p.a == "--set" && p.i + 1 < args.Length).Select(p => args[p.i + 1].Split('=', 2))
                    .ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "", StringComparer.Ordinal);
                (reports, failures) = await ChaosScenario.RunAsync(
                    Binary(args), Option(args, "--rate", 60), TimeSpan.FromSeconds(Option(args, "--duration", 60)), output, settings);
                break;
            case "websocket":
                (reports, failures) = await WebSocketScenario.RunAsync(Binary(args), Stages(args), TimeSpan.FromSeconds(Option(args, "--duration", 10)));
                break;
            case "proxy":
                // Saturation, not a rate: wrk drives each proxy as fast as it answers; its own Markdown, no report files.
                if (args.SkipWhile(a => a != "--compare").Skip(1).FirstOrDefault() is { } after)
                {
                    return await ProxyScenario.CompareAsync(
                        Binary(args), after, (int)Option(args, "--rounds", 3), TimeSpan.FromSeconds(Option(args, "--duration", 10)), (int)Option(args, "--connections", 64));
                }

                return args.Contains("--https")
                    ? await UpstreamTlsScenario.RunAsync(Binary(args), TimeSpan.FromSeconds(Option(args, "--duration", 10)), (int)Option(args, "--connections", 64))
                    : await ProxyScenario.RunAsync(
                        Binary(args), args.SkipWhile(a => a != "--jit").Skip(1).FirstOrDefault(), TimeSpan.FromSeconds(Option(args, "--duration", 10)), (int)Option(args, "--connections", 64));
            case "profile":
                return await ProfileScenario.RunAsync(
                    Binary(args),
                    args.SkipWhile(a => a != "--jit").Skip(1).FirstOrDefault() ?? Path.Combine("src", "Facilitator.Fast", "bin", "Release", "net10.0", "Facilitator.Fast.dll"),
                    args.SkipWhile(a => a != "--tools").Skip(1).FirstOrDefault() ?? Path.Combine("artifacts", "tools"),
                    args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? Path.Combine("artifacts", "profile"),
                    TimeSpan.FromSeconds(Option(args, "--duration", 10)),
                    (int)Option(args, "--connections", 64),
                    args.Contains("--refusals"));
            default:
                Console.Error.WriteLine($"Unknown scenario '{scenario}'. Scenarios: hedging, overhead, gate, lifecycle, chain, chaos, proxy, profile, websocket.");
                return 2;
        }

        var markdown = LoadReport.Markdown(reports);
        Console.WriteLine(markdown);
        Directory.CreateDirectory(output);
        await File.WriteAllTextAsync(Path.Combine(output, $"{scenario}.md"), markdown);
        await File.WriteAllTextAsync(Path.Combine(output, $"{scenario}.json"), LoadReport.Json(reports));

        var failed = failures.Count > 0;
        foreach (var failure in failures)
        {
            Console.Error.WriteLine($"FAIL {failure}");
        }

        foreach (var report in reports)
        {
            var errorRate = report.Errors / (double)Math.Max(report.Requests, 1);
            if (!double.IsNaN(maxErrorRate) && errorRate > maxErrorRate)
            {
                Console.Error.WriteLine($"FAIL {report.Scenario}: error rate {errorRate:P2} above {maxErrorRate:P2}");
                failed = true;
            }

            if (!double.IsNaN(maxP99) && report.P99Ms > maxP99)
            {
                Console.Error.WriteLine($"FAIL {report.Scenario}: p99 {report.P99Ms} ms above {maxP99} ms");
                failed = true;
            }
        }

        return failed ? 1 : 0;
    }

    /// <summary>The service, in this process, on a loopback port, with the given settings over its defaults.</summary>
    internal static WebApplication BuildService(Dictionary<string, string?> settings) =>
        Facilitator.Fast.Program.Build(["--urls", "http://127.0.0.1:0"], configuration => configuration.AddInMemoryCollection(settings));

    private static string Binary(string[] args) =>
        args.SkipWhile(a => a != "--binary").Skip(1).FirstOrDefault() ?? Path.Combine("artifacts", "aot", "Facilitator.Fast");

    /// <summary><c>--stages 1000x100,10000x10</c>: subscribers × payment events per second, one run each (the default).</summary>
    private static List<(int Subscribers, double EventsPerSecond)> Stages(string[] args)
    {
        var text = args.SkipWhile(a => a != "--stages").Skip(1).FirstOrDefault() ?? "1000x100,10000x10";
        return [.. text.Split(',').Select(stage => stage.Split('x')).Select(parts => (
            int.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture)))];
    }

    private static double Option(string[] args, string name, double fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && double.TryParse(args[index + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : fallback;
    }
}
