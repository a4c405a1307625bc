using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Load;

/// <summary>
/// Forwarding at proxy speed, side by side in one run: the gateway (AOT, local verification off, rate limits off) and
/// nginx configured as a failover proxy (primary and backup upstream, keep-alive, retries), each pinned to core 0 in
/// turn, in front of the same fast upstream (an nginx answering a fixed verify answer) on core 1, driven to saturation
/// by <c>wrk</c> on core 1. It prints requests/s, p50/p99 and CPU per request of each, and the ratio. Then the same
/// for refusing wrongly signed payments (local verification <c>enforce</c>, answered locally), against libsecp256k1's
/// own recovery rate on one core measured in the same run.
/// </summary>
/// <remarks>Needs <c>nginx</c>, <c>wrk</c> and <c>taskset</c>; <c>eng/measure-proxy.sh</c> installs them and runs this.</remarks>
internal static partial class ProxyScenario
{
    internal const string VerifyAnswer = """{"isValid":true,"payer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}""";

    internal const string SupportedAnswer =
        """{"kinds":[{"x402Version":2,"scheme":"exact","network":"eip155:84532"},{"x402Version":1,"scheme":"exact","network":"base-sepolia"}],"extensions":[],"signers":{}}""";

    public static async Task<int> RunAsync(string binary, string? jitAssembly, TimeSpan duration, int connections)
    {
        foreach (var tool in new[] { "nginx", "wrk", "taskset" })
        {
            if (Which(tool) is null)
            {
                Console.Error.WriteLine($"'{tool}' is not installed: run eng/measure-proxy.sh, which installs it.");
                return 2;
            }
        }

        var work = Directory.CreateTempSubdirectory("facilitator-proxy-").FullName;
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var valid = PaymentSigner.Request(PaymentSigner.CreatePayer(7_001), 2, now - 600, now + 3600, nonceSeed: 1);
            var wronglySigned = Tamper(valid);
            var upstreamPort = FreePort();
            var backupPort = FreePort();
            await using var upstream = await NginxAsync(work, "upstream", "1", UpstreamConfig(upstreamPort), upstreamPort);

            var rows = new List<string>();
            var forward = WrkScript(work, "forward.lua", valid);
            var nginx = await MeasureNginxAsync(work, upstreamPort, backupPort, forward, duration, connections);
            rows.Add(nginx.Row("nginx (failover proxy)"));
            var aot = await MeasureGatewayAsync(binary, null, upstreamPort, backupPort, "off", forward, duration, connections);
            rows.Add(aot.Row("gateway, Native AOT"));
            var inline = await MeasureGatewayAsync(binary, null, upstreamPort, backupPort, "off", forward, duration, connections, InlineIo);
            rows.Add(inline.Row("gateway, Native AOT, inline I/O (opt-in)"));
            if (jitAssembly is not null)
            {
                rows.Add((await MeasureGatewayAsync("dotnet", jitAssembly, upstreamPort, backupPort, "off", forward, duration, connections)).Row("gateway, JIT"));
            }

            Console.WriteLine($"## Forwarding a valid /verify ({duration.TotalSeconds:0} s each, {connections} connections, proxy on core 0; upstream and wrk on core 1)");
            Console.WriteLine();
            Console.WriteLine("| proxy | requests/s | p50 ms | p99 ms | CPU per request µs |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            rows.ForEach(Console.WriteLine);
            Console.WriteLine();
            Console.WriteLine($"gateway / nginx: {aot.RequestsPerSecond / nginx.RequestsPerSecond:0.00} × the rate, {aot.CpuPerRequestUs / nginx.CpuPerRequestUs:0.00} × the CPU per request");
            Console.WriteLine($"gateway with inline I/O / nginx: {inline.RequestsPerSecond / nginx.RequestsPerSecond:0.00} × the rate, {inline.CpuPerRequestUs / nginx.CpuPerRequestUs:0.00} × the CPU per request");
            Console.WriteLine();

            // Recovery measured on either side of the refusals and averaged: on a shared machine the core's speed drifts.
            var (recoveryBefore, perCpuBefore) = RecoveriesPerSecond(wronglySigned, TimeSpan.FromSeconds(3));
            var refuseScript = WrkScript(work, "refuse.lua", wronglySigned);
            var refuse = await MeasureGatewayAsync(binary, null, upstreamPort, backupPort, "enforce", refuseScript, duration, connections);
            var refuseInline = await MeasureGatewayAsync(binary, null, upstreamPort, backupPort, "enforce", refuseScript, duration, connections, InlineIo);
            var (recoveryAfter, perCpuAfter) = RecoveriesPerSecond(wronglySigned, TimeSpan.FromSeconds(3));
            var recovery = (recoveryBefore + recoveryAfter) / 2;
            var recoveryPerCpu = (perCpuBefore + perCpuAfter) / 2;
            var refusalsPerCpu = 1e6 / refuse.CpuPerRequestUs;
            Console.WriteLine("## Refusing wrongly signed payments (local verification enforce; nothing reaches the upstream)");
            Console.WriteLine();
            Console.WriteLine("| | per second on one core |");
            Console.WriteLine("|---|---:|");
            Console.WriteLine($"| libsecp256k1 recovery (in process, one thread on core 0 when run by eng/measure-proxy.sh) | {recovery:0} |");
            Console.WriteLine($"| gateway refusals over HTTP (Native AOT, core 0) | {refuse.RequestsPerSecond:0} (p99 {refuse.P99Ms:0.00} ms) |");
            Console.WriteLine($"| the same with inline I/O (opt-in) | {refuseInline.RequestsPerSecond:0} (p99 {refuseInline.P99Ms:0.00} ms) |");
            Console.WriteLine();
            Console.WriteLine($"| libsecp256k1 recoveries per CPU-second of the thread | {recoveryPerCpu:0} |");
            Console.WriteLine($"| gateway refusals per CPU-second of the gateway ({refuse.CpuPerRequestUs:0.0} µs each) | {refusalsPerCpu:0} |");
            Console.WriteLine($"| the same with inline I/O ({refuseInline.CpuPerRequestUs:0.0} µs each) | {1e6 / refuseInline.CpuPerRequestUs:0} |");
            Console.WriteLine();
            Console.WriteLine($"refusals / recoveries: {refuse.RequestsPerSecond / recovery:0.00} per second; {refusalsPerCpu / recoveryPerCpu:0.00} per CPU-second "
                + "(the second holds on a shared machine, where a process of many threads gets more of a core than one thread does)");
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// Two gateway binaries (before and after a change) against nginx, alternated over <paramref name="rounds"/> rounds in
    /// one run, so a machine whose load drifts weighs on all three alike; prints each round and the medians of the ratios.
    /// </summary>
    public static async Task<int> CompareAsync(string before, string after, int rounds, TimeSpan duration, int connections)
    {
        var work = Directory.CreateTempSubdirectory("facilitator-proxy-").FullName;
        try
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var valid = PaymentSigner.Request(PaymentSigner.CreatePayer(7_001), 2, now - 600, now + 3600, nonceSeed: 1);
            var upstreamPort = FreePort();
            var backupPort = FreePort();
            await using var upstream = await NginxAsync(work, "upstream", "1", UpstreamConfig(upstreamPort), upstreamPort);
            var forward = WrkScript(work, "forward.lua", valid);
            Console.WriteLine($"## Before and after, alternated ({rounds} rounds, {duration.TotalSeconds:0} s each, {connections} connections, proxy on core 0; upstream and wrk on core 1)");
            Console.WriteLine();
            Console.WriteLine("| round | proxy | requests/s | p50 ms | p99 ms | CPU per request µs |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|");
            var ratios = new List<(double RateBefore, double RateAfter, double CpuBefore, double CpuAfter)>();
            for (var round = 1; round <= rounds; round++)
            {
                var nginx = await MeasureNginxAsync(work, upstreamPort, backupPort, forward, duration, connections);
                var b = await MeasureGatewayAsync(before, null, upstreamPort, backupPort, "off", forward, duration, connections);
                var a = await MeasureGatewayAsync(after, null, upstreamPort, backupPort, "off", forward, duration, connections);
                Console.WriteLine($"| {round} {nginx.Row("nginx")[1..]}");
                Console.WriteLine($"| {round} {b.Row("gateway before")[1..]}");
                Console.WriteLine($"| {round} {a.Row("gateway after")[1..]}");
                ratios.Add((b.RequestsPerSecond / nginx.RequestsPerSecond, a.RequestsPerSecond / nginx.RequestsPerSecond, b.CpuPerRequestUs / nginx.CpuPerRequestUs, a.CpuPerRequestUs / nginx.CpuPerRequestUs));
            }

            Console.WriteLine();
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"medians — before: {Median(ratios.Select(r => r.RateBefore)):0.00} × nginx's rate, {Median(ratios.Select(r => r.CpuBefore)):0.00} × its CPU per request; "
                + $"after: {Median(ratios.Select(r => r.RateAfter)):0.00} × the rate, {Median(ratios.Select(r => r.CpuAfter)):0.00} × the CPU per request"));
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        static double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        }
    }

    private static async Task<Measurement> MeasureNginxAsync(string work, int upstreamPort, int backupPort, string script, TimeSpan duration, int connections)
    {
        var port = FreePort();
        var config = $$"""
            upstream facilitators {
              server 127.0.0.1:{{upstreamPort}} max_fails=3 fail_timeout=30s;
              server 127.0.0.1:{{backupPort}} backup;
              keepalive 128;
            }
            server {
              listen 127.0.0.1:{{port}};
              keepalive_requests 1000000;
              client_max_body_size 64k;
              location / {
                proxy_pass http://facilitators;
                proxy_http_version 1.1;
                proxy_set_header Connection "";
                proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
                proxy_next_upstream_tries 2;
                proxy_connect_timeout 2s;
                proxy_read_timeout 5s;
              }
            }
            """;
        await using var proxy = await NginxAsync(work, "proxy", "0", config, port);
        return await WrkAsync(proxy.Process, port, script, duration, connections);
    }

    /// <summary>The runtime's switch that the gateway's opt-in inline I/O follows (README, "Inline I/O").</summary>
    private static readonly Dictionary<string, string> InlineIo = new() { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1" };

    private static async Task<Measurement> MeasureGatewayAsync(
        string binary, string? assembly, int upstreamPort, int backupPort, string localVerification, string script, TimeSpan duration, int connections,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort();
        using var process = await StartGatewayAsync(binary, assembly, port, upstreamPort, backupPort, localVerification, environment);
        try
        {
            return await WrkAsync(process, port, script, duration, connections);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>The gateway on core 0, listening on <paramref name="port"/>, in front of the two upstreams.</summary>
    internal static async Task<Process> StartGatewayAsync(
        string binary, string? assembly, int port, int upstreamPort, int backupPort, string localVerification, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("taskset") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in assembly is null ? ["-c", "0", binary] : new[] { "-c", "0", binary, assembly })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["FACILITATOR_1_URL"] = $"http://127.0.0.1:{upstreamPort}";
        start.Environment["FACILITATOR_2_URL"] = $"http://127.0.0.1:{backupPort}";
        start.Environment["FACILITATOR_3_ENABLED"] = "false";
        start.Environment["LocalVerification__Mode"] = localVerification;
        start.Environment["RateLimit__Enabled"] = "false";
        start.Environment["Edge__Limits__MaxConnectionsPerClient"] = "0";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{binary} did not start.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await WaitListeningAsync(port, process);
            return process;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    internal static async Task<Measurement> WrkAsync(Process target, int port, string script, TimeSpan duration, int connections)
    {
        // A warm-up (connections, upstream keep-alive, and the JIT build's tiers: 2 s left it part-way), then the measured run.
        await RunWrkAsync(port, script, TimeSpan.FromSeconds(5), connections);
        var cpuBefore = CpuTime(target.Id);
        var output = await RunWrkAsync(port, script, duration, connections);
        var cpu = CpuTime(target.Id) - cpuBefore;
        var requests = long.Parse(RequestsLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var rate = double.Parse(RateLine().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var errors = NonSuccessLine().Match(output) is { Success: true } bad ? long.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        if (errors > 0)
        {
            throw new InvalidOperationException($"{errors} of {requests} answers were not 2xx:\n{output}");
        }

        return new Measurement(rate, Percentile(output, "50"), Percentile(output, "99"), cpu.TotalMicroseconds / Math.Max(requests, 1));
    }

    internal static async Task<string> RunWrkAsync(int port, string script, TimeSpan duration, int connections)
    {
        var start = new ProcessStartInfo("taskset") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "-c", "1", "wrk", "-t1", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "--latency", "-s", script, $"http://127.0.0.1:{port}/verify",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var wrk = Process.Start(start)!;
        var output = await wrk.StandardOutput.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        return output;
    }

    /// <summary>
    /// libsecp256k1's own rate on this thread: parse and recover the public key of this payment's signature and digest;
    /// per second of wall time, and per second of this thread's CPU time.
    /// </summary>
    private static (double PerSecond, double PerCpuSecond) RecoveriesPerSecond(string payment, TimeSpan duration)
    {
        var body = Encoding.UTF8.GetBytes(payment);
        if (Protocol.PaymentRequestReader.TryRead(body, out var view) != Protocol.PaymentRequestError.None)
        {
            throw new InvalidOperationException("the payment cannot be read.");
        }

        var digest = new byte[32];
        if (!ExactEvmVerifier.TryComputeDigest(body, view, digest))
        {
            throw new InvalidOperationException("the payment's digest cannot be computed.");
        }

        var marker = payment.IndexOf("\"signature\":\"0x", StringComparison.Ordinal) + "\"signature\":\"0x".Length;
        var signature = Convert.FromHexString(payment.AsSpan(marker, 130));
        var publicKey = new byte[64];
        var count = 0L;
        var cpuStarted = Process.GetCurrentProcess().TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < duration)
        {
            for (var i = 0; i < 100; i++)
            {
                Secp256k1.RecoverPublicKey(digest, signature, publicKey);
            }

            count += 100;
        }

        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return (count / wall, count / (Process.GetCurrentProcess().TotalProcessorTime - cpuStarted).TotalSeconds);
    }

    /// <summary>The payment with its signature's last byte of <c>s</c> changed: well formed, signed by nobody it names.</summary>
    internal static string Tamper(string payment)
    {
        var at = payment.IndexOf("\"signature\":\"0x", StringComparison.Ordinal) + "\"signature\":\"0x".Length + 126;
        return string.Concat(payment.AsSpan(0, at), payment[at] == '0' ? "1" : "0", payment.AsSpan(at + 1));
    }

    internal static string UpstreamConfig(int port) => $$"""
        server {
          listen 127.0.0.1:{{port}};
          keepalive_requests 1000000;
          client_max_body_size 64k;
          default_type application/json;
          location = /verify { return 200 '{{VerifyAnswer}}'; }
          location = /settle { return 200 '{"success":true,"transaction":"0xfeed","network":"eip155:84532"}'; }
          location = /supported { return 200 '{{SupportedAnswer}}'; }
          location / { return 404; }
        }
        """;

    internal static string WrkScript(string work, string name, string body)
    {
        var path = Path.Combine(work, name);
        File.WriteAllText(path, $"wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [==[{body}]==]\n");
        return path;
    }

    internal static async Task<NginxProcess> NginxAsync(string work, string name, string core, string server, int port)
    {
        var prefix = Path.Combine(work, name);
        Directory.CreateDirectory(prefix);
        var config = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(config, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            events { worker_connections 8192; }
            http {
              access_log off;
              client_body_temp_path {{prefix}}/body;
              proxy_temp_path {{prefix}}/proxy;
              fastcgi_temp_path {{prefix}}/fastcgi;
              uwsgi_temp_path {{prefix}}/uwsgi;
              scgi_temp_path {{prefix}}/scgi;
              {{server}}
            }
            """);
        var start = new ProcessStartInfo("taskset") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-c", core, "nginx", "-p", prefix, "-c", config })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start.");
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await WaitListeningAsync(port, process);
        return new NginxProcess(process);
    }

    private static async Task WaitListeningAsync(int port, Process process)
    {
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 30);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.StartInfo.ArgumentList.LastOrDefault()} exited with {process.ExitCode} before listening.");
            }

            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            try
            {
                using var response = await client.GetAsync($"http://127.0.0.1:{port}/supported");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"nothing answered on port {port} within 30 s.");
    }

    /// <summary>User plus system CPU time of a process, from <c>/proc/PID/stat</c>.</summary>
    internal static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    private static double Percentile(string output, string percentile) =>
        Regex.Match(output, $@"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline) is { Success: true } match
            ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) * match.Groups[2].Value switch { "us" => 0.001, "s" => 1000, _ => 1 }
            : double.NaN;

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RateLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccessLine();

    internal readonly record struct Measurement(double RequestsPerSecond, double P50Ms, double P99Ms, double CpuPerRequestUs)
    {
        public string Row(string name) =>
            string.Create(CultureInfo.InvariantCulture, $"| {name} | {RequestsPerSecond:0} | {P50Ms:0.00} | {P99Ms:0.00} | {CpuPerRequestUs:0.0} |");
    }

    internal sealed class NginxProcess(Process process) : IAsyncDisposable
    {
        public Process Process => process;

        public async ValueTask DisposeAsync()
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }
}
