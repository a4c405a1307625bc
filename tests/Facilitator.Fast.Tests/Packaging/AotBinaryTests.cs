using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Packaging;

/// <summary>
/// The published Native-AOT binary, started as a process against a fake upstream: it answers a verify call, and a
/// bad setting stops it with one line. Its size, time to first answer and RSS are written to
/// <c>artifacts/aot-smoke.txt</c>, which the test command prints.
/// </summary>
public sealed class AotBinaryTests
{
    private static readonly string Binary = RepositoryPaths.AotBinary;

    [Fact]
    public async Task AotBinary_AgainstFakeUpstream_AnswersVerify()
    {
        RepositoryPaths.RequireFreshAotBinary();
        await using var upstream = await FakeFacilitator.StartAsync();
        var port = LoopbackPorts.Free();
        var url = $"http://127.0.0.1:{port}";

        var started = Stopwatch.StartNew();
        using var process = StartAgainst(upstream, url);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };
            var response = await FirstAnswerAsync(client, process, PaymentSigner.ValidNow(2, seed: 11));
            var firstAnswer = started.Elapsed;

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("\"isValid\":true", await response.Content.ReadAsStringAsync());
            // FACILITATOR_1_URL points the seed's first upstream elsewhere, so it is no longer called x402-rs.
            Assert.Equal("facilitator-1", response.Headers.GetValues("X-Facilitator-Upstream").Single());
            Assert.Equal("valid", response.Headers.GetValues("X-Facilitator-Local-Verdict").Single());
            Assert.Equal(1, upstream.CountOf("/verify"));

            // The statically linked libsecp256k1 answers a wrongly signed payment without the upstream.
            var tampered = PaymentSigner.ValidNow(1, seed: 11).Replace("\"value\":\"10000\"", "\"value\":\"10001\"", StringComparison.Ordinal);
            using var rejected = await client.PostAsync("/verify", new StringContent(tampered, Encoding.UTF8, "application/json"));
            Assert.Contains("invalid_exact_evm_payload_signature", await rejected.Content.ReadAsStringAsync());
            Assert.Equal(1, upstream.CountOf("/verify"));

            var rssKiB = ReadRssKiB(process.Id);
            var sizeMiB = new FileInfo(Binary).Length / 1024.0 / 1024.0;
            var report = string.Create(CultureInfo.InvariantCulture,
                $"AOT binary: {sizeMiB:0.0} MiB, time to first verify answer: {firstAnswer.TotalMilliseconds:0} ms, RSS after it: {rssKiB / 1024.0:0.0} MiB");
            TestContext.Current.SendDiagnosticMessage(report);
            Directory.CreateDirectory(Path.Combine(RepositoryPaths.Root, "artifacts"));
            await File.WriteAllTextAsync(Path.Combine(RepositoryPaths.Root, "artifacts", "aot-smoke.txt"), report + "\n");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// The binary signs CDP requests with both key types CDP issues (the SEC1 PEM pasted with literal <c>\n</c>, the
    /// Ed25519 key from a secret file), and a CDP-shaped upstream that validates every token accepts them.
    /// </summary>
    [Theory]
    [InlineData("sec1-escaped")]
    [InlineData("ed25519")]
    public async Task AotBinary_AgainstCdpShapedUpstream_SignsEveryCall(string shape)
    {
        RepositoryPaths.RequireFreshAotBinary();
        var key = CdpTestKey.Of(shape);
        await using var cdp = await FakeCdpFacilitator.StartAsync(key);
        var secretFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(secretFile, key.Secret);
        var url = $"http://127.0.0.1:{LoopbackPorts.Free()}";
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = url,
            ["FACILITATOR_1_ENABLED"] = "false",
            ["FACILITATOR_2_ENABLED"] = "false",
            ["FACILITATOR_3_URL"] = cdp.Url,
            ["FACILITATOR_HEALTH_CHECK"] = "false",
            ["CDP_API_KEY_ID"] = key.KeyId,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        environment[shape == "ed25519" ? "CDP_API_KEY_SECRET_FILE" : "CDP_API_KEY_SECRET"] = shape == "ed25519" ? secretFile : key.Secret;
        using var process = ProcessRunner.Start(Binary, [], Path.GetDirectoryName(Binary)!, environment);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };
            using var verify = await FirstAnswerAsync(client, process, PaymentSigner.ValidNow(2, seed: 13));
            using var settle = await client.PostAsync("/settle", new StringContent(PaymentSigner.ValidNow(2, seed: 13), Encoding.UTF8, "application/json"));
            using var supported = await client.GetAsync("/supported");

            Assert.Empty(cdp.Refusals);
            Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
            Assert.Equal("facilitator-3", verify.Headers.GetValues("X-Facilitator-Upstream").Single());
            Assert.Contains("0xcdp123", await settle.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, supported.StatusCode);
            Assert.Equal(3, cdp.Accepted);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            File.Delete(secretFile);
        }
    }

    [Fact]
    public async Task AotBinary_InvalidUpstreamUrl_ExitsWithOneLineNamingTheSetting()
    {
        RepositoryPaths.RequireFreshAotBinary();

        var run = await ProcessRunner.RunAsync(Binary, [], Path.GetDirectoryName(Binary)!, new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{LoopbackPorts.Free()}",
            ["FACILITATOR_1_URL"] = "not-a-url",
        }, TimeSpan.FromSeconds(20));

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("FACILITATOR_1_URL", line);
    }

    public static TheoryData<string, string, string> UnusableSettings()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        return new()
        {
            { "REDIS_URL", "redis://:@@", "REDIS_URL" },
            { "Redis__ConnectionString", "127.0.0.1:6379,bogus=1", "Redis:ConnectionString" },
            { "Auth__Jwt__Es256PublicKeyPem", rsa.ExportSubjectPublicKeyInfoPem(), "Auth:Jwt:Es256PublicKeyPem" },
            { "Edge__Limits__MaxConnectionsPerClient", "lots", "Edge:Limits:MaxConnectionsPerClient" },
            { "Edge__Limits__KeepAliveTimeoutSeconds", "-1", "Edge:Limits:KeepAliveTimeoutSeconds" },
            { "ASPNETCORE_URLS", "garbage", "ASPNETCORE_URLS" },
            { "ASPNETCORE_URLS", "http://127.0.0.1:99999", "ASPNETCORE_URLS" },
            { "CDP_API_KEY_SECRET", rsa.ExportRSAPrivateKeyPem(), "CDP_API_KEY_SECRET" },
            { "CDP_API_KEY_SECRET", rsa.ExportPkcs8PrivateKeyPem().Replace("\n", "\\n", StringComparison.Ordinal), "CDP_API_KEY_SECRET" },
        };
    }

    [Theory]
    [MemberData(nameof(UnusableSettings))]
    public async Task AotBinary_UnusableSetting_ExitsWithOneLineNamingTheSetting(string variable, string value, string named)
    {
        RepositoryPaths.RequireFreshAotBinary();

        var run = await ProcessRunner.RunAsync(Binary, [], Path.GetDirectoryName(Binary)!, new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{LoopbackPorts.Free()}",
            ["FACILITATOR_1_URL"] = "http://127.0.0.1:9",
            ["Auth__Jwt__Issuer"] = "https://issuer.example.com",
            ["Auth__Jwt__Audience"] = "facilitator",
            ["CDP_API_KEY_ID"] = "organizations/o/apiKeys/k",
            [variable] = value,
        }, TimeSpan.FromSeconds(20));

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(named, line);
        Assert.DoesNotContain("MII", line);
    }

    [Fact]
    public async Task AotBinary_PortInUse_ExitsWithOneLineNamingTheSetting()
    {
        RepositoryPaths.RequireFreshAotBinary();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();

        var run = await ProcessRunner.RunAsync(Binary, [], Path.GetDirectoryName(Binary)!, new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}",
            ["FACILITATOR_1_URL"] = "http://127.0.0.1:9",
            ["FACILITATOR_HEALTH_CHECK"] = "false",
        }, TimeSpan.FromSeconds(20));

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("ASPNETCORE_URLS", line);
        Assert.Contains("address already in use", line);
    }

    [Fact]
    public async Task AotBinary_StartedFromAnotherDirectory_ReadsTheAppsettingsBesideIt()
    {
        RepositoryPaths.RequireFreshAotBinary();
        await using var upstream = await FakeFacilitator.StartAsync();
        var folder = Directory.CreateTempSubdirectory("facilitator-aot-");
        var elsewhere = Directory.CreateTempSubdirectory("facilitator-cwd-");
        try
        {
            var binary = Path.Combine(folder.FullName, Path.GetFileName(Binary));
            File.Copy(Binary, binary);
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "appsettings.json"), $$"""
                { "Upstreams": [ { "Id": "from-appsettings", "Url": "{{upstream.Url}}" } ], "Aggregator": { "HealthCheck": false } }
                """);
            var url = $"http://127.0.0.1:{LoopbackPorts.Free()}";
            using var process = ProcessRunner.Start(binary, [], elsewhere.FullName, new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = url,
                ["Logging__LogLevel__Default"] = "Warning",
            });
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };
                using var response = await FirstAnswerAsync(client, process, PaymentSigner.ValidNow(2, seed: 12));

                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("from-appsettings", response.Headers.GetValues("X-Facilitator-Upstream").Single());
                Assert.Equal(1, upstream.CountOf("/verify"));
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            folder.Delete(recursive: true);
            elsewhere.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The opt-in inline I/O (the runtime's <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, which Kestrel's
    /// scheduling follows) changes only which threads run the work: the binary forwards, refuses locally, settles and
    /// streams the payment's events as it does by default.
    /// </summary>
    [Fact]
    public async Task AotBinary_InlineIo_ForwardsRefusesSettlesAndStreamsEvents()
    {
        RepositoryPaths.RequireFreshAotBinary();
        await using var upstream = await FakeFacilitator.StartAsync();
        var port = LoopbackPorts.Free();
        var url = $"http://127.0.0.1:{port}";
        using var process = StartAgainst(upstream, url, ("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };
            var payment = PaymentSigner.ValidNow(2, seed: 13);
            using var verified = await FirstAnswerAsync(client, process, payment);
            Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
            Assert.Contains("\"isValid\":true", await verified.Content.ReadAsStringAsync());

            await using var events = await Events.EventStreamClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"));
            await events.SendAsync("""{"type":"subscribe","channels":["payments"]}""");
            await events.NextAsync("subscribed");

            using var settled = await client.PostAsync("/settle", new StringContent(payment, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, settled.StatusCode);
            Assert.Contains("\"success\":true", await settled.Content.ReadAsStringAsync());
            var settledEvent = await events.NextAsync("payment:settled");
            Assert.Equal("0xabc123", settledEvent.GetProperty("data").GetProperty("transaction").GetString());
            Assert.Equal(1, upstream.CountOf("/settle"));

            var other = PaymentSigner.ValidNow(1, seed: 14);
            var tampered = other.Replace("\"value\":\"10000\"", "\"value\":\"10001\"", StringComparison.Ordinal);
            Assert.NotEqual(other, tampered);
            using var rejected = await client.PostAsync("/verify", new StringContent(tampered, Encoding.UTF8, "application/json"));
            Assert.Contains("invalid_exact_evm_payload_signature", await rejected.Content.ReadAsStringAsync());
            Assert.Equal(1, upstream.CountOf("/verify"));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task AotBinary_Libsecp256k1_LinkedStatically()
    {
        RepositoryPaths.RequireFreshAotBinary();

        var ldd = await ProcessRunner.RunAsync("ldd", [Binary], RepositoryPaths.Root, null, TimeSpan.FromSeconds(20));

        Assert.Equal(0, ldd.ExitCode);
        Assert.DoesNotContain("secp256k1", ldd.StandardOutput, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The binary listening on <paramref name="url"/> with <paramref name="upstream"/> as its only upstream, and <paramref name="environment"/> besides.</summary>
    private static Process StartAgainst(FakeFacilitator upstream, string url, params (string Name, string Value)[] environment)
    {
        var variables = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = url,
            ["FACILITATOR_1_URL"] = upstream.Url,
            ["FACILITATOR_2_ENABLED"] = "false",
            ["FACILITATOR_3_ENABLED"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (name, value) in environment)
        {
            variables[name] = value;
        }

        return ProcessRunner.Start(Binary, [], Path.GetDirectoryName(Binary)!, variables);
    }

    private static async Task<HttpResponseMessage> FirstAnswerAsync(HttpClient client, Process process, string body)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(process.HasExited, $"the binary exited with {(process.HasExited ? process.ExitCode : 0)}");
            try
            {
                return await client.PostAsync("/verify", new StringContent(body, Encoding.UTF8, "application/json"));
            }
            catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(5);
            }
        }
    }

    private static long ReadRssKiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }
}
