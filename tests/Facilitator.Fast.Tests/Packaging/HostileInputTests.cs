using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Packaging;

/// <summary>
/// Thousands of hostile requests per endpoint against the published AOT binary: no 5xx, no crash, resident memory
/// within a bound of where it started, and a valid payment still answered correctly afterwards. The counts go to
/// <c>artifacts/hostile-input.txt</c>, which the test command prints.
/// </summary>
public sealed class HostileInputTests
{
    private const int RequestsPerEndpoint = 2000;
    private const long MemoryBoundKiB = 64 * 1024;
    private static readonly string Binary = RepositoryPaths.AotBinary;

    private static readonly (string Method, string Path)[] Endpoints =
    [
        ("POST", "/verify"), ("POST", "/settle"), ("GET", "/supported"), ("GET", "/discovery/resources"), ("POST", "/api/facilitator-status"),
    ];

    [Fact]
    public async Task AotBinary_HostileRequests_NoServerErrorsMemoryBoundedStillCorrect()
    {
        RepositoryPaths.RequireFreshAotBinary();
        await using var upstream = await FakeFacilitator.StartAsync();
        var port = LoopbackPorts.Free();
        using var process = ProcessRunner.Start(Binary, [], Path.GetDirectoryName(Binary)!, new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["FACILITATOR_1_URL"] = upstream.Url,
            ["FACILITATOR_2_ENABLED"] = "false",
            ["FACILITATOR_HEALTH_CHECK"] = "false",
            ["RateLimit__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Error",
        });
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16 }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(20) };
            await Eventually.TrueAsync(async () => await AnswersAsync(client), "the binary answers");
            for (var i = 0; i < 200; i++)
            {
                (await client.PostAsync("/verify", new StringContent(PaymentSigner.ValidNow(2, seed: 51, nonceSeed: i), Encoding.UTF8, "application/json"))).Dispose();
            }

            var before = RssKiB(process.Id);
            var statuses = new ConcurrentDictionary<int, int>();
            var slow = Enumerable.Range(0, 4).Select(_ => SlowBodyAsync(port)).ToArray();
            var random = new Random(402);
            var requests = Endpoints.SelectMany(e => Enumerable.Range(0, RequestsPerEndpoint).Select(i => (e.Method, e.Path, Kind: i % 12, Seed: random.Next()))).ToArray();
            await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (r, ct) =>
            {
                using var request = Hostile(r.Method, r.Path, r.Kind, new Random(r.Seed));
                try
                {
                    using var response = await client.SendAsync(request, ct);
                    await response.Content.CopyToAsync(Stream.Null, ct);
                    statuses.AddOrUpdate((int)response.StatusCode, 1, static (_, n) => n + 1);
                }
                catch (HttpRequestException)
                {
                    // The server may close a connection on a malformed request (an oversized header line, say).
                    statuses.AddOrUpdate(0, 1, static (_, n) => n + 1);
                }
            });
            var slowOutcomes = await Task.WhenAll(slow);
            Assert.False(process.HasExited, "the binary crashed");
            var after = RssKiB(process.Id);

            var valid = PaymentSigner.ValidNow(1, seed: 52);
            using var answer = await client.PostAsync("/verify", new StringContent(valid, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Contains("\"isValid\":true", await answer.Content.ReadAsStringAsync());
            var tampered = valid.Replace("\"value\":\"10000\"", "\"value\":\"9999\"", StringComparison.Ordinal);
            using var refused = await client.PostAsync("/verify", new StringContent(tampered, Encoding.UTF8, "application/json"));
            Assert.Contains("invalid_exact_evm_payload_signature", await refused.Content.ReadAsStringAsync());

            var counts = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => (s.Key == 0 ? "closed" : s.Key.ToString(CultureInfo.InvariantCulture)) + ": " + s.Value.ToString(CultureInfo.InvariantCulture)));
            var report = string.Create(CultureInfo.InvariantCulture,
                $"Hostile input: {requests.Length} requests ({RequestsPerEndpoint} per endpoint x {Endpoints.Length}, 12 kinds) and 4 slow bodies; statuses {counts}; slow bodies: {string.Join(", ", slowOutcomes)}; RSS {before / 1024.0:0.0} MiB before, {after / 1024.0:0.0} MiB after (bound +{MemoryBoundKiB / 1024} MiB)");
            TestContext.Current.SendDiagnosticMessage(report);
            Directory.CreateDirectory(Path.Combine(RepositoryPaths.Root, "artifacts"));
            await File.WriteAllTextAsync(Path.Combine(RepositoryPaths.Root, "artifacts", "hostile-input.txt"), report + "\n");

            Assert.False(statuses.Keys.Any(static status => status >= 500), report);
            Assert.All(slowOutcomes, outcome => Assert.NotEqual("still open", outcome));
            Assert.True(after - before <= MemoryBoundKiB, report);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static HttpRequestMessage Hostile(string method, string path, int kind, Random random)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        byte[]? body = kind switch
        {
            0 => RandomBytes(random, random.Next(0, 4096)),
            1 => Encoding.UTF8.GetBytes(Payments.V2[..random.Next(0, Payments.V2.Length)]),
            2 => Encoding.ASCII.GetBytes(new string('[', 100_000) + new string(']', 100_000)),
            3 => Encoding.ASCII.GetBytes("{\"x402Version\":" + new string('9', 10_000) + ",\"paymentPayload\":{},\"paymentRequirements\":{\"amount\":" + new string('7', 10_000) + "}}"),
            4 => Encoding.UTF8.GetBytes("""{"x402Version":"2","paymentPayload":[1,2],"paymentRequirements":"exact","action":{"check":"health"}}"""),
            5 => [.. Encoding.UTF8.GetBytes("{\"x402Version\":1,\"paymentPayload\":{\"x\":\""), 0xC3, 0x28, 0xFF, .. Encoding.UTF8.GetBytes("\"},\"paymentRequirements\":{}}")],
            6 => Encoding.UTF8.GetBytes("{\"x402Version\":2,\"paymentPayload\":{\"s\":\"" + new string('a', 1024 * 1024) + "\"},\"paymentRequirements\":{}}"),
            7 => Encoding.UTF8.GetBytes(Payments.V1.Replace("\"paymentRequirements\":{", "\"paymentRequirements\":{\"payTo\":\"0x0\",", StringComparison.Ordinal)),
            8 => Encoding.UTF8.GetBytes(Payments.V2),
            9 => Encoding.UTF8.GetBytes("{\"action\":\"" + new string('x', 5000) + "\"}"),
            10 => Encoding.UTF8.GetBytes("\"\\ud800\\udfff\\u0000\""),
            _ => null,
        };
        if (kind == 8)
        {
            request.Headers.TryAddWithoutValidation("X-Huge", new string('h', 40 * 1024));
        }

        if (kind == 11)
        {
            request.RequestUri = new Uri(path + "?type=" + Uri.EscapeDataString(new string('%', random.Next(1, 500))) + "&limit=-1&offset=" + new string('9', 300), UriKind.Relative);
            request.Method = random.Next(2) == 0 ? HttpMethod.Get : new HttpMethod("PATCH");
        }

        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", random.Next(3) == 0 ? "text/plain" : "application/json");
        }

        return request;
    }

    /// <summary>A POST whose body trickles in at a byte every 300 ms: Kestrel's minimum data rate must end it.</summary>
    private static async Task<string> SlowBodyAsync(int port)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /verify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"));
        var started = Stopwatch.StartNew();
        try
        {
            while (started.Elapsed < TimeSpan.FromSeconds(12))
            {
                await stream.WriteAsync("{"u8.ToArray());
                await Task.Delay(300);
                if (socket.Available > 0)
                {
                    var buffer = new byte[256];
                    var read = await stream.ReadAsync(buffer);
                    return read == 0 ? "closed" : Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];
                }
            }

            return "still open";
        }
        catch (IOException)
        {
            return "closed";
        }
    }

    private static async Task<bool> AnswersAsync(HttpClient client)
    {
        try
        {
            using var response = await client.GetAsync("/health/live");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static long RssKiB(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
