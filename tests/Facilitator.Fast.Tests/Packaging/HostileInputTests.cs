using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Packaging;

/// <summary>
/// Thousands of hostile requests per endpoint against the published AOT binary, once with rate limits and
/// authentication off and once with both on (API keys, a JWT key, x402 routes requiring credentials), together with
/// attacks on the edge: silent sockets, chunk sizes that overflow, two Authorization headers, tokens with <c>crit</c>,
/// wrong keys from one address. No 5xx, no crash, resident memory within a bound of where it started, and afterwards
/// a valid payment still verifies (with a valid key, from the address that sent the wrong ones) and <c>/health</c> is
/// healthy. The counts go to <c>artifacts/hostile-input-edge-{off,on}.txt</c>, which the test command prints.
/// </summary>
public sealed class HostileInputTests
{
    private const int RequestsPerEndpoint = 2000;
    private const long MemoryBoundKiB = 64 * 1024;
    private const string FloodKey = "ff_flood_key_0001";
    private const string MerchantKey = "ff_merchant_key_0002";
    private const string RawKey = "ff_raw_key_0003";
    private const string JwtSecret = "hostile-input-test-hs256-secret-of-32-bytes-at-least";
    private const string Issuer = "https://issuer.example.com";
    private const string Audience = "facilitator";
    private static readonly string Binary = RepositoryPaths.AotBinary;

    private static readonly (string Method, string Path)[] Endpoints =
    [
        ("POST", "/verify"), ("POST", "/settle"), ("GET", "/supported"), ("GET", "/discovery/resources"), ("POST", "/api/facilitator-status"),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AotBinary_HostileRequests_NoServerErrorsMemoryBoundedStillCorrect(bool edgeOn)
    {
        RepositoryPaths.RequireFreshAotBinary();
        await using var upstream = await FakeFacilitator.StartAsync();
        var port = LoopbackPorts.Free();
        var server = new Uri($"http://127.0.0.1:{port}");
        using var process = ProcessRunner.Start(Binary, [], Path.GetDirectoryName(Binary)!, Environment(upstream, port, edgeOn));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16 }) { BaseAddress = server, Timeout = TimeSpan.FromSeconds(20) };
            await Eventually.TrueAsync(async () => await AnswersAsync(client), "the binary answers");
            for (var i = 0; i < 200; i++)
            {
                (await PostAsync(client, PaymentSigner.ValidNow(2, seed: 51, nonceSeed: i), FloodKey)).Dispose();
            }

            var before = RssKiB(process.Id);
            var statuses = new ConcurrentDictionary<int, int>();
            var slow = Enumerable.Range(0, 4).Select(_ => SlowBodyAsync(port, edgeOn ? RawKey : null)).ToArray();
            var silent = HostileEdgeAttacks.SilentSocketsAsync(port, IPAddress.Parse("127.0.0.3"), 100, TimeSpan.FromSeconds(15));
            var crit = HostileEdgeAttacks.CritToken(JwtSecret, Issuer, Audience);
            var random = new Random(402);
            var requests = Endpoints.SelectMany(e => Enumerable.Range(0, RequestsPerEndpoint).Select(i => (e.Method, e.Path, Kind: i % 12, Seed: random.Next()))).ToArray();
            await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (r, ct) =>
            {
                var seeded = new Random(r.Seed);
                using var request = Hostile(r.Method, r.Path, r.Kind, seeded);
                Credential(request, seeded, crit);
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
            var overflow = await HostileEdgeAttacks.ChunkOverflowAsync(server, edgeOn ? RawKey : null, 20);
            var duplicate = await HostileEdgeAttacks.DuplicateAuthorizationAsync(server, "/api/facilitator-status?include=health", crit, IPAddress.Parse("127.0.0.6"));
            var slowOutcomes = await Task.WhenAll(slow);
            var silentOutcome = await silent;
            Assert.False(process.HasExited, "the binary crashed");
            var after = RssKiB(process.Id);

            var valid = PaymentSigner.ValidNow(1, seed: 52);
            var (wrongKeys, validAfterWrongKeys) = await HostileEdgeAttacks.WrongKeysThenValidAsync(server, IPAddress.Parse("127.0.0.5"), MerchantKey, 30, valid);
            using var answer = await PostAsync(client, valid, MerchantKey);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Contains("\"isValid\":true", await answer.Content.ReadAsStringAsync());
            var tampered = valid.Replace("\"value\":\"10000\"", "\"value\":\"9999\"", StringComparison.Ordinal);
            using var refused = await PostAsync(client, tampered, MerchantKey);
            Assert.Contains("invalid_exact_evm_payload_signature", await refused.Content.ReadAsStringAsync());
            using var health = await client.GetAsync("/health");
            var healthBody = await health.Content.ReadAsStringAsync();

            var counts = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => (s.Key == 0 ? "closed" : s.Key.ToString(CultureInfo.InvariantCulture)) + ": " + s.Value.ToString(CultureInfo.InvariantCulture)));
            var report = string.Create(CultureInfo.InvariantCulture,
                $"Hostile input, rate limits and authentication {(edgeOn ? "on" : "off")}: {requests.Length} requests ({RequestsPerEndpoint} per endpoint x {Endpoints.Length}, 12 kinds{(edgeOn ? ", with no, wrong, valid or crit credentials" : "")}) and 4 slow bodies; statuses {counts}; slow bodies: {string.Join(", ", slowOutcomes)}; 100 silent sockets from one address: {silentOutcome}; 20 overflowing chunk sizes: {string.Join(" ", overflow.Distinct())}; two Authorization headers: {duplicate}; 30 wrong keys then a valid one from one address: {string.Join(" ", wrongKeys.Distinct())} then {validAfterWrongKeys}; RSS {before / 1024.0:0.0} MiB before, {after / 1024.0:0.0} MiB after (bound +{MemoryBoundKiB / 1024} MiB)");
            TestContext.Current.SendDiagnosticMessage(report);
            Directory.CreateDirectory(Path.Combine(RepositoryPaths.Root, "artifacts"));
            await File.WriteAllTextAsync(Path.Combine(RepositoryPaths.Root, "artifacts", $"hostile-input-edge-{(edgeOn ? "on" : "off")}.txt"), report + "\n");

            Assert.False(statuses.Keys.Any(static status => status >= 500), report);
            Assert.All(slowOutcomes, outcome => Assert.True(outcome is "closed" || outcome.StartsWith("HTTP/1.1 400", StringComparison.Ordinal), outcome));
            Assert.True(silentOutcome.StillOpen == 0 && silentOutcome.ClosedAtOnce >= 36, report);
            Assert.All(overflow, status => Assert.Equal(400, status));
            Assert.Equal(edgeOn ? 401 : 200, duplicate);
            Assert.Equal(200, validAfterWrongKeys);
            if (edgeOn)
            {
                Assert.Equal(429, wrongKeys[^1]);
            }

            Assert.True(after - before <= MemoryBoundKiB, report);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("healthy", JsonDocument.Parse(healthBody).RootElement.GetProperty("status").GetString());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static Dictionary<string, string> Environment(FakeFacilitator upstream, int port, bool edgeOn)
    {
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["FACILITATOR_1_URL"] = upstream.Url,
            ["FACILITATOR_2_ENABLED"] = "false",
            ["FACILITATOR_HEALTH_CHECK"] = "false",
            ["Logging__LogLevel__Default"] = "Error",
        };
        if (!edgeOn)
        {
            environment["RateLimit__Enabled"] = "false";
            return environment;
        }

        string[] keys = [FloodKey, MerchantKey, RawKey];
        for (var i = 0; i < keys.Length; i++)
        {
            environment[$"Auth__ApiKeys__{i}__Name"] = $"key-{i}";
            environment[$"Auth__ApiKeys__{i}__Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(keys[i])));
        }

        environment["Auth__Jwt__HmacSecret"] = JwtSecret;
        environment["Auth__Jwt__Issuer"] = Issuer;
        environment["Auth__Jwt__Audience"] = Audience;
        environment["Auth__RequireForX402"] = "true";
        return environment;
    }

    /// <summary>The flood's credentials: a valid key (its own rate limit), none, a wrong key (a new one each time), or a token with crit.</summary>
    private static void Credential(HttpRequestMessage request, Random random, string critToken)
    {
        switch (random.Next(4))
        {
            case 0:
                request.Headers.TryAddWithoutValidation("X-API-Key", FloodKey);
                break;
            case 1:
                break;
            case 2:
                request.Headers.TryAddWithoutValidation("X-API-Key", "wrong-" + random.Next().ToString(CultureInfo.InvariantCulture));
                break;
            default:
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + critToken);
                break;
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/verify") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-API-Key", key);
        return await client.SendAsync(request);
    }

    private static HttpRequestMessage Hostile(string method, string path, int kind, Random random)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        byte[]? body = kind switch
        {
            0 => RandomBytes(random, random.Next(0, 4096)),
            1 => Encoding.UTF8.GetBytes(TestPayments.V2[..random.Next(0, TestPayments.V2.Length)]),
            2 => Encoding.ASCII.GetBytes(new string('[', 100_000) + new string(']', 100_000)),
            3 => Encoding.ASCII.GetBytes("{\"x402Version\":" + new string('9', 10_000) + ",\"paymentPayload\":{},\"paymentRequirements\":{\"amount\":" + new string('7', 10_000) + "}}"),
            4 => Encoding.UTF8.GetBytes("""{"x402Version":"2","paymentPayload":[1,2],"paymentRequirements":"exact","action":{"check":"health"}}"""),
            5 => [.. Encoding.UTF8.GetBytes("{\"x402Version\":1,\"paymentPayload\":{\"x\":\""), 0xC3, 0x28, 0xFF, .. Encoding.UTF8.GetBytes("\"},\"paymentRequirements\":{}}")],
            6 => Encoding.UTF8.GetBytes("{\"x402Version\":2,\"paymentPayload\":{\"s\":\"" + new string('a', 1024 * 1024) + "\"},\"paymentRequirements\":{}}"),
            7 => Encoding.UTF8.GetBytes(TestPayments.V1.Replace("\"paymentRequirements\":{", "\"paymentRequirements\":{\"payTo\":\"0x0\",", StringComparison.Ordinal)),
            8 => Encoding.UTF8.GetBytes(TestPayments.V2),
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
    private static async Task<string> SlowBodyAsync(int port, string? apiKey)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /verify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{(apiKey is null ? "" : $"X-API-Key: {apiKey}\r\n")}Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"));
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
