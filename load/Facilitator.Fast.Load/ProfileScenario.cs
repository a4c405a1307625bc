using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Facilitator.Fast.Load;

/// <summary>
/// Where a forwarded <c>/verify</c>'s CPU goes: the proxy scenario's forwarding run (local verification off, rate
/// limits off, gateway on core 0, upstream nginx and wrk on core 1), profiled. The JIT build is sampled with
/// <c>dotnet-trace</c> (EventPipe's sampled thread time; stacks of waiting threads removed) while
/// <c>dotnet-counters</c> records the runtime's and Kestrel's counters; the Native AOT binary, whose EventPipe has no
/// sample profiler, is sampled on CPU with <c>perf</c>. Each profile is summarised by component: every sample is
/// charged to the innermost frame that names one (so a socket write is Kestrel's or HttpClient's, whichever made it).
/// </summary>
/// <remarks><c>eng/profile-forward.sh</c> installs the tools and runs this.</remarks>
internal static class ProfileScenario
{
    /// <summary>Components by frame name (namespaces; native AOT symbols use '_' where .NET names use '.'), innermost first.</summary>
    private static readonly (string Component, string[] Prefixes)[] s_components =
    [
        ("GC", ["WKS::", "SVR::", "GCHeap", "gc_heap", "RhpGcAlloc", "GCToEEInterface", "RhpCollect"]),
        ("local verification", ["Facilitator.Fast.Evm.", "secp256k1_"]),
        ("parse (payment view)", ["Facilitator.Fast.Protocol.PaymentRequestReader", "Facilitator.Fast.Routing.PaymentKind", "Facilitator.Fast.Payments.PaymentEventTrace"]),
        ("statistics, health, operation log", [
            "Facilitator.Fast.Routing.UpstreamStatistics", "Facilitator.Fast.Telemetry.OperationLog", "Facilitator.Fast.Telemetry.RecentLatency",
            "Facilitator.Fast.Telemetry.LatencyHistogram", "Facilitator.Fast.Routing.FailoverRouter.Record", "Facilitator.Fast.State.InMemoryUpstreamHealthStore",
            "Facilitator.Fast.Routing.UpstreamCredentialState"]),
        ("logging", ["Microsoft.Extensions.Logging"]),
        ("telemetry (Activity, metrics, diagnostics)", [
            "System.Diagnostics.Activity", "System.Diagnostics.Metrics", "System.Diagnostics.DiagnosticListener", "System.Diagnostics.DistributedContextPropagator",
            "Microsoft.AspNetCore.Hosting.HostingApplicationDiagnostics", "Microsoft.AspNetCore.Hosting.HostingMetrics", "System.Net.Http.Metrics", "System.Net.Http.DiagnosticsHandler"]),
        ("HttpClient (upstream call)", ["System.Net.Http.", "Facilitator.Fast.Routing.UpstreamCall", "Facilitator.Fast.Routing.PooledBytesContent", "System.Net.Security"]),
        ("failover, hedging (own)", ["Facilitator.Fast.Routing.", "Facilitator.Fast.Settlement."]),
        ("endpoint routing", ["Microsoft.AspNetCore.Routing."]),
        ("edge middleware (request id, headers, auth, limits, shield)", ["Facilitator.Fast.Edge.", "Microsoft.AspNetCore.Diagnostics.", "Microsoft.AspNetCore.Cors."]),
        ("handler (body, answer)", ["Facilitator.Fast.Api.", "Facilitator.Fast.Payments.", "Facilitator.Fast.Protocol.", "Facilitator.Fast.Events."]),
        ("Kestrel (HTTP/1.1 server)", ["Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Hosting.", "Microsoft.AspNetCore.Http.", "Microsoft.AspNetCore.Connections", "Microsoft.AspNetCore.Builder"]),
    ];

    /// <summary>Charged only when no component's frame is on the stack.</summary>
    private static readonly (string Component, string[] Prefixes)[] s_fallbacks =
    [
        ("thread pool, async machinery", ["System.Threading.", "System.Runtime.CompilerServices.", "ThreadPool"]),
        ("sockets (epoll loop)", ["System.Net.Sockets."]),
        ("kernel, outside a component", ["[kernel", "entry_SYSCALL", "__x64_sys", "do_syscall"]),
    ];

    /// <summary>Leaf frames of a thread that is waiting, not running (EventPipe samples every thread, running or not).</summary>
    private static readonly string[] s_waiting =
    [
        "LowLevelLifoSemaphore", "WaitHandle.Wait", "Monitor.Wait", "Thread.Sleep", "WaitForSocketEvents", "LowLevelMonitor", "Interop+Sys.WaitForSocketEvents",
        "SocketAsyncEngine.EventLoop", "ManualResetEventSlim.Wait", "SemaphoreSlim.Wait", "Thread.Join", "WaitSubsystem", "Interop+Sys.Read", "PortableThreadPool+GateThread",
        "Interop+Sys.Poll", "Console", "StreamReader", "EventPipe", "DiagnosticServer", "PosixSignal", "TimerQueue.TimerThread", "WaitOneNoCheck", "Sleep",
    ];

    /// <param name="refusals">
    /// Profile refusing wrongly signed payments instead (local verification <c>enforce</c>, answered without the
    /// upstream): the Native AOT binary only.
    /// </param>
    public static async Task<int> RunAsync(string binary, string jitAssembly, string tools, string output, TimeSpan duration, int connections, bool refusals = false)
    {
        foreach (var tool in new[] { "nginx", "wrk", "taskset", "perf" })
        {
            if (ProxyScenario.Which(tool) is null)
            {
                Console.Error.WriteLine($"'{tool}' is not installed: run eng/profile-forward.sh, which installs it.");
                return 2;
            }
        }

        Directory.CreateDirectory(output);
        output = Path.GetFullPath(output);
        var work = Directory.CreateTempSubdirectory("facilitator-profile-").FullName;
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var valid = Tests.Infrastructure.PaymentSigner.Request(Tests.Infrastructure.PaymentSigner.CreatePayer(7_001), 2, now - 600, now + 3600, nonceSeed: 1);
            var upstreamPort = ProxyScenario.FreePort();
            var backupPort = ProxyScenario.FreePort();
            await using var upstream = await ProxyScenario.NginxAsync(work, "upstream", "1", ProxyScenario.UpstreamConfig(upstreamPort), upstreamPort);
            var script = ProxyScenario.WrkScript(work, "forward.lua", valid);
            if (refusals)
            {
                var refused = await ProfileAotAsync(
                    binary, output, upstreamPort, backupPort, ProxyScenario.WrkScript(work, "refuse.lua", ProxyScenario.Tamper(valid)), duration, connections, "enforce");
                Console.WriteLine($"## Where refusing a wrongly signed /verify's CPU goes ({duration.TotalSeconds:0} s under wrk, {connections} connections; gateway on core 0)");
                Console.WriteLine();
                Console.WriteLine($"AOT: {refused.Measurement.RequestsPerSecond:0} refusals/s, {refused.Measurement.CpuPerRequestUs:0.0} µs CPU per refusal (profiled).");
                Console.WriteLine();
                Console.WriteLine("| component | AOT share (perf) | AOT µs/refusal |");
                Console.WriteLine("|---|---:|---:|");
                foreach (var component in s_components.Select(c => c.Component).Concat(s_fallbacks.Select(c => c.Component)).Append("other"))
                {
                    var a = refused.Shares.GetValueOrDefault(component);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {component} | {a:P1} | {a * refused.Measurement.CpuPerRequestUs:0.0} |"));
                }

                Console.WriteLine();
                Console.WriteLine($"Profile and the hottest functions: {output}");
                return 0;
            }

            var jit = await ProfileJitAsync(jitAssembly, tools, output, upstreamPort, backupPort, script, duration, connections);
            var aot = await ProfileAotAsync(binary, output, upstreamPort, backupPort, script, duration, connections);

            Console.WriteLine($"## Where a forwarded /verify's CPU goes ({duration.TotalSeconds:0} s each under wrk, {connections} connections; gateway on core 0)");
            Console.WriteLine();
            Console.WriteLine($"JIT: {jit.Measurement.RequestsPerSecond:0} requests/s, {jit.Measurement.CpuPerRequestUs:0.0} µs CPU per request (profiled); "
                + $"AOT: {aot.Measurement.RequestsPerSecond:0} requests/s, {aot.Measurement.CpuPerRequestUs:0.0} µs (profiled).");
            if (jit.AllocatedPerRequest is { } allocated)
            {
                Console.WriteLine($"JIT, from dotnet-counters: {allocated:0} bytes allocated per request, {jit.GcCount} collections in the run.");
            }

            Console.WriteLine();
            Console.WriteLine("| component | JIT share (dotnet-trace) | JIT µs/request | AOT share (perf) | AOT µs/request |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var component in s_components.Select(c => c.Component).Concat(s_fallbacks.Select(c => c.Component)).Append("other"))
            {
                var j = jit.Shares.GetValueOrDefault(component);
                var a = aot.Shares.GetValueOrDefault(component);
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {component} | {j:P1} | {j * jit.Measurement.CpuPerRequestUs:0.0} | {a:P1} | {a * aot.Measurement.CpuPerRequestUs:0.0} |"));
            }

            Console.WriteLine();
            Console.WriteLine($"Profiles, counters and the hottest functions: {output}");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<Profile> ProfileJitAsync(
        string assembly, string tools, string output, int upstreamPort, int backupPort, string script, TimeSpan duration, int connections)
    {
        var port = ProxyScenario.FreePort();
        using var gateway = await ProxyScenario.StartGatewayAsync("dotnet", assembly, port, upstreamPort, backupPort, "off");
        try
        {
            await ProxyScenario.RunWrkAsync(port, script, TimeSpan.FromSeconds(5), connections);
            var seconds = (int)duration.TotalSeconds;
            var trace = Path.Combine(output, "jit.nettrace");
            var counters = Path.Combine(output, "jit-counters.csv");
            File.Delete(counters);
            var traceTask = RunToolAsync(
                Path.Combine(tools, "dotnet-trace"),
                ["collect", "-p", gateway.Id.ToString(CultureInfo.InvariantCulture), "--profile", "dotnet-sampled-thread-time", "--format", "Speedscope",
                    "-o", trace, "--duration", $"00:00:00:{seconds:00}"]);
            var countersTask = RunToolAsync(
                Path.Combine(tools, "dotnet-counters"),
                ["collect", "-p", gateway.Id.ToString(CultureInfo.InvariantCulture), "--format", "csv", "-o", counters, "--refresh-interval", "1",
                    "--counters", "System.Runtime,Microsoft.AspNetCore.Hosting,Microsoft.AspNetCore.Server.Kestrel,System.Net.Http",
                    "--duration", $"00:00:00:{seconds:00}"]);
            var measured = await ProxyScenario.WrkAsync(gateway, port, script, duration, connections);
            await Task.WhenAll(traceTask, countersTask);
            var speedscope = Path.ChangeExtension(trace, ".speedscope.json");
            var stacks = SpeedscopeStacks(speedscope);
            var (allocated, collections) = AllocationPerRequest(counters, measured.RequestsPerSecond);
            return new Profile(measured, Summarise(stacks, Path.Combine(output, "jit")), allocated, collections);
        }
        finally
        {
            gateway.Kill(entireProcessTree: true);
            await gateway.WaitForExitAsync();
        }
    }

    private static async Task<Profile> ProfileAotAsync(
        string binary, string output, int upstreamPort, int backupPort, string script, TimeSpan duration, int connections, string localVerification = "off")
    {
        var port = ProxyScenario.FreePort();
        using var gateway = await ProxyScenario.StartGatewayAsync(binary, null, port, upstreamPort, backupPort, localVerification);
        try
        {
            await ProxyScenario.RunWrkAsync(port, script, TimeSpan.FromSeconds(2), connections);
            var data = Path.Combine(output, "aot.perf.data");
            var perf = RunToolAsync(
                "perf",
                ["record", "-F", "1999", "-g", "-p", gateway.Id.ToString(CultureInfo.InvariantCulture), "-o", data, "--",
                    "sleep", ((int)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture)]);
            var measured = await ProxyScenario.WrkAsync(gateway, port, script, duration, connections);
            await perf;
            var text = await RunToolAsync("perf", ["script", "-i", data, "-F", "comm,tid,ip,sym,dso"]);
            return new Profile(measured, Summarise(PerfStacks(text), Path.Combine(output, "aot")), null, 0);
        }
        finally
        {
            gateway.Kill(entireProcessTree: true);
            await gateway.WaitForExitAsync();
        }
    }

    /// <summary>Shares of the samples by component; also writes the folded stacks and the hottest leaf functions.</summary>
    private static Dictionary<string, double> Summarise(List<(string[] Frames, double Weight)> stacks, string prefix)
    {
        var byComponent = new Dictionary<string, double>();
        var byLeaf = new Dictionary<string, double>();
        var total = 0.0;
        var folded = new StringBuilder();
        foreach (var (frames, weight) in stacks)
        {
            var component = ComponentOf(frames);
            byComponent[component] = byComponent.GetValueOrDefault(component) + weight;
            byLeaf[frames[0]] = byLeaf.GetValueOrDefault(frames[0]) + weight;
            total += weight;
            folded.Append(string.Join(';', frames.Reverse())).Append(' ').Append(weight.ToString("0.###", CultureInfo.InvariantCulture)).Append('\n');
        }

        File.WriteAllText(prefix + ".folded.txt", folded.ToString());
        File.WriteAllLines(
            prefix + ".top.txt",
            byLeaf.OrderByDescending(p => p.Value).Take(60).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Value / total,7:P2}  {p.Key}")));
        return byComponent.ToDictionary(p => p.Key, p => p.Value / Math.Max(total, 1e-9));
    }

    private static string ComponentOf(string[] frames)
    {
        foreach (var table in new[] { s_components, s_fallbacks })
        {
            foreach (var frame in frames)
            {
                var name = frame.Replace('_', '.');
                foreach (var (component, prefixes) in table)
                {
                    if (prefixes.Any(p => name.Contains(p.Replace('_', '.'), StringComparison.Ordinal)))
                    {
                        return component;
                    }
                }
            }
        }

        return "other";
    }

    /// <summary>Stacks (leaf first) and their time from dotnet-trace's speedscope file, without the samples of waiting threads.</summary>
    private static List<(string[] Frames, double Weight)> SpeedscopeStacks(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var names = document.RootElement.GetProperty("shared").GetProperty("frames").EnumerateArray().Select(f => f.GetProperty("name").GetString() ?? "?").ToArray();
        var stacks = new Dictionary<string, (string[] Frames, double Weight)>();
        foreach (var profile in document.RootElement.GetProperty("profiles").EnumerateArray())
        {
            var open = new List<int>();
            var last = 0.0;
            foreach (var e in profile.GetProperty("events").EnumerateArray())
            {
                var at = e.GetProperty("at").GetDouble();
                if (open.Count > 0 && at > last)
                {
                    var frames = Enumerable.Range(0, open.Count).Select(i => names[open[open.Count - 1 - i]]).ToArray();
                    if (!IsWaiting(frames))
                    {
                        var key = string.Join('\n', frames);
                        var weight = (stacks.TryGetValue(key, out var known) ? known.Weight : 0) + (at - last);
                        stacks[key] = (frames, weight);
                    }
                }

                last = at;
                var frame = e.GetProperty("frame").GetInt32();
                if (e.GetProperty("type").GetString() == "O")
                {
                    open.Add(frame);
                }
                else
                {
                    var index = open.LastIndexOf(frame);
                    if (index >= 0)
                    {
                        open.RemoveRange(index, open.Count - index);
                    }
                }
            }
        }

        return [.. stacks.Values];
    }

    private static bool IsWaiting(string[] frames)
    {
        // The sampled leaf is a pseudo-frame (CPU_TIME or UNMANAGED_CODE_TIME); the frame under it says what runs.
        var managed = frames.Length > 1 && frames[0] is "UNMANAGED_CODE_TIME" or "CPU_TIME" ? frames[1] : frames[0];
        return s_waiting.Any(w => managed.Contains(w, StringComparison.Ordinal));
    }

    /// <summary>Stacks (leaf first) of <c>perf script</c>: one sample per block, each of weight one.</summary>
    private static List<(string[] Frames, double Weight)> PerfStacks(string text)
    {
        var stacks = new List<(string[] Frames, double Weight)>();
        foreach (var block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var frames = lines.Skip(1).Select(FrameOf).Where(f => f.Length > 0).ToArray();
            if (frames.Length > 0)
            {
                stacks.Add((frames, 1));
            }
        }

        return stacks;

        static string FrameOf(string line)
        {
            // "\t    7f1e2c3d4e5f Symbol_Name+0x1c (/path/to/dso)"
            var parts = line.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2)
            {
                return "";
            }

            var rest = parts[1];
            var dso = rest.LastIndexOf(" (", StringComparison.Ordinal);
            var symbol = dso > 0 ? rest[..dso] : rest;
            var offset = symbol.LastIndexOf("+0x", StringComparison.Ordinal);
            symbol = offset > 0 ? symbol[..offset] : symbol;
            return symbol == "[unknown]" && dso > 0 ? rest[(dso + 2)..].TrimEnd(')') : symbol;
        }
    }

    /// <summary>
    /// Bytes allocated per request (the allocation rate's increments over the run, per request at wrk's rate) and
    /// the collections in the run, from dotnet-counters' CSV (<c>Timestamp,Provider,Counter Name,Counter Type,Mean/Increment</c>).
    /// </summary>
    private static (double? BytesPerRequest, long Collections) AllocationPerRequest(string csv, double requestsPerSecond)
    {
        if (!File.Exists(csv))
        {
            return (null, 0);
        }

        var allocated = 0.0;
        var collections = 0.0;
        var stamps = new HashSet<string>();
        foreach (var line in File.ReadLines(csv).Skip(1))
        {
            var fields = line.Split(',');
            if (fields.Length < 5 || !double.TryParse(fields[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            if (fields[2].StartsWith("dotnet.gc.heap.total_allocated", StringComparison.Ordinal))
            {
                allocated += value;
                stamps.Add(fields[0]);
            }
            else if (fields[2].StartsWith("dotnet.gc.collections", StringComparison.Ordinal))
            {
                collections += value;
            }
        }

        return stamps.Count > 0 ? (allocated / (requestsPerSecond * stamps.Count), (long)collections) : (null, (long)collections);
    }

    private static async Task<string> RunToolAsync(string tool, string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }

    private sealed record Profile(ProxyScenario.Measurement Measurement, Dictionary<string, double> Shares, double? AllocatedPerRequest, long GcCount);
}
