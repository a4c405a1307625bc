using System.Diagnostics;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Load;

/// <summary>
/// Whether HTTP/2 to an https upstream helps: the gateway (AOT, local verification off, rate limits off, core 0)
/// forwarding valid verifies to an nginx upstream on core 1 over TLS with a self-signed certificate (trusted through
/// <c>SSL_CERT_FILE</c>), once where the upstream offers HTTP/2 by ALPN and once where it offers HTTP/1.1 only; wrk on
/// core 1 drives the gateway to saturation. Prints requests/s and the gateway's CPU per request for each.
/// </summary>
internal static class UpstreamTlsScenario
{
    public static async Task<int> RunAsync(string binary, TimeSpan duration, int connections)
    {
        foreach (var tool in new[] { "nginx", "wrk", "taskset", "openssl" })
        {
            if (ProxyScenario.Which(tool) is null)
            {
                Console.Error.WriteLine($"'{tool}' is not installed: run eng/measure-proxy.sh, which installs it.");
                return 2;
            }
        }

        var work = Directory.CreateTempSubdirectory("facilitator-tls-").FullName;
        try
        {
            var certificate = Path.Combine(work, "upstream.pem");
            var key = Path.Combine(work, "upstream.key");
            await RunAsync("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", certificate);

            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var valid = PaymentSigner.Request(PaymentSigner.CreatePayer(7_001), 2, now - 600, now + 3600, nonceSeed: 1);
            var script = ProxyScenario.WrkScript(work, "forward.lua", valid);
            var rows = new List<string>();
            foreach (var (name, http2) in new[] { ("HTTP/2 (ALPN h2)", true), ("HTTP/1.1 (no h2 offered)", false) })
            {
                var port = ProxyScenario.FreePort();
                var plain = ProxyScenario.FreePort();
                await using var upstream = await ProxyScenario.NginxAsync(work, http2 ? "h2" : "h1", "1", UpstreamConfig(port, plain, certificate, key, http2), plain);
                var gatewayPort = ProxyScenario.FreePort();
                using var gateway = await ProxyScenario.StartGatewayAsync(
                    binary, null, gatewayPort, 0, ProxyScenario.FreePort(), "off",
                    new Dictionary<string, string> { ["FACILITATOR_1_URL"] = $"https://localhost:{port}", ["SSL_CERT_FILE"] = certificate });
                try
                {
                    var measured = await ProxyScenario.WrkAsync(gateway, gatewayPort, script, duration, connections);
                    rows.Add(measured.Row(name));
                }
                finally
                {
                    gateway.Kill(entireProcessTree: true);
                    await gateway.WaitForExitAsync();
                }
            }

            Console.WriteLine($"## Forwarding a valid /verify to an https upstream ({duration.TotalSeconds:0} s each, {connections} connections; gateway on core 0, nginx upstream and wrk on core 1)");
            Console.WriteLine();
            Console.WriteLine("| gateway → upstream | requests/s | p50 ms | p99 ms | gateway CPU per request µs |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            rows.ForEach(Console.WriteLine);
            return 0;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The fixed upstream answers over TLS on <paramref name="port"/> (and in plain HTTP on <paramref name="plain"/>, for the readiness check).</summary>
    private static string UpstreamConfig(int port, int plain, string certificate, string key, bool http2) => $$"""
        server {
          listen 127.0.0.1:{{port}} ssl{{(http2 ? " http2" : "")}};
          listen 127.0.0.1:{{plain}};
          ssl_certificate {{certificate}};
          ssl_certificate_key {{key}};
          keepalive_requests 1000000;
          http2_max_requests 1000000;
          client_max_body_size 64k;
          default_type application/json;
          location = /verify { return 200 '{{ProxyScenario.VerifyAnswer}}'; }
          location = /supported { return 200 '{{ProxyScenario.SupportedAnswer}}'; }
          location / { return 404; }
        }
        """;

    private static async Task RunAsync(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} failed: {await error}");
        }
    }
}
