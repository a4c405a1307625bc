using System.Diagnostics;
using System.Net;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Packaging;

/// <summary>
/// Review of the opt-in inline I/O (commit 3c8355b): the published binary with
/// <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> (so Kestrel schedules inline too) under concurrent verifies,
/// settles, duplicate settles, subscribers and Redis, and the settle rules across two upstreams: an authorization is
/// never sent to the second upstream unless the first provably did not process it, and no success is reported that did
/// not happen.
/// </summary>
public sealed class InlineIoReviewTests
{
    private static readonly string Binary = RepositoryPaths.AotBinary;

    private sealed class Service : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private Service(Process process, string url)
        {
            _process = process;
            Url = url;
            Client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        }

        public string Url { get; }

        public HttpClient Client { get; }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static async Task<Service> StartAsync(Dictionary<string, string> environment)
        {
            RepositoryPaths.RequireFreshAotBinary();
            var port = LoopbackPorts.Free();
            var url = $"http://127.0.0.1:{port}";
            environment["ASPNETCORE_URLS"] = url;
            environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
            environment["Logging__LogLevel__Default"] = "Warning";
            environment["Edge__Limits__MaxConnectionsPerClient"] = "0";
            environment["Events__MaxConnectionsPerClient"] = "0";
            environment["FACILITATOR_HEALTH_CHECK"] = "false";
            environment.TryAdd("FACILITATOR_3_ENABLED", "false");
            var process = ProcessRunner.Start(Binary, [], Path.GetDirectoryName(Binary)!, environment);
            var service = new Service(process, url);
            process.OutputDataReceived += (_, e) => service.Append(e.Data);
            process.ErrorDataReceived += (_, e) => service.Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(process.HasExited, "the binary exited: " + service.Output);
                try
                {
                    using var live = await service.Client.GetAsync("/health/live");
                    if (live.IsSuccessStatusCode)
                    {
                        return service;
                    }
                }
                catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(20))
                {
                }

                await Task.Delay(10);
            }
        }

        public Task<HttpResponseMessage> SettleAsync(string payment) =>
            Client.PostAsync("/settle", new StringContent(payment, Encoding.UTF8, "application/json"));

        public Task<HttpResponseMessage> VerifyAsync(string payment) =>
            Client.PostAsync("/verify", new StringContent(payment, Encoding.UTF8, "application/json"));

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static Dictionary<string, string> TwoUpstreams(string first, string second) => new()
    {
        ["FACILITATOR_1_URL"] = first,
        ["FACILITATOR_2_URL"] = second,
        ["FACILITATOR_TIMEOUT_MS"] = "1000",
        ["FACILITATOR_1_SETTLE_TIMEOUT_MS"] = "1500",
        ["FACILITATOR_2_SETTLE_TIMEOUT_MS"] = "1500",
    };

    [Fact]
    public async Task AotBinary_InlineIoFirstUpstreamHangsOnSettle_NeverSentToTheSecondNorReportedSettled()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        first.Hang("/settle");
        await using var service = await Service.StartAsync(TwoUpstreams(first.Url, second.Url));

        using var settled = await service.SettleAsync(PaymentSigner.ValidNow(2, seed: 61));
        var body = await settled.Content.ReadAsStringAsync();

        Assert.DoesNotContain("\"success\":true", body, StringComparison.Ordinal);
        Assert.Equal(1, first.CountOf("/settle"));
        Assert.Equal(0, second.CountOf("/settle"));

        // Asked again, the same authorization still is not sent elsewhere nor reported settled.
        using var again = await service.SettleAsync(PaymentSigner.ValidNow(2, seed: 61));
        Assert.DoesNotContain("\"success\":true", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, second.CountOf("/settle"));
    }

    [Fact]
    public async Task AotBinary_InlineIoFirstUpstreamRefusesConnections_SecondSettlesExactlyOnce()
    {
        await using var second = await FakeFacilitator.StartAsync();
        var closed = $"http://127.0.0.1:{LoopbackPorts.Free()}";
        await using var service = await Service.StartAsync(TwoUpstreams(closed, second.Url));

        using var settled = await service.SettleAsync(PaymentSigner.ValidNow(2, seed: 62));

        Assert.Equal(HttpStatusCode.OK, settled.StatusCode);
        Assert.Contains("\"success\":true", await settled.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, second.CountOf("/settle"));
    }

    [Fact]
    public async Task AotBinary_InlineIoFirstUpstreamDropsTheSettleConnection_NeverSentToTheSecond()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        first.Drop("/settle"); // it read the request: it may have processed it
        await using var service = await Service.StartAsync(TwoUpstreams(first.Url, second.Url));

        using var settled = await service.SettleAsync(PaymentSigner.ValidNow(2, seed: 63));

        Assert.DoesNotContain("\"success\":true", await settled.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(first.CountOf("/settle") >= 1);
        Assert.Equal(0, second.CountOf("/settle"));
    }

    /// <summary>
    /// Everything at once on the socket threads: local signature recoveries, settles the upstream answers late (the
    /// requests wait on the upstream's sockets while others arrive), the same authorization settled ten times at once,
    /// event subscribers, with the settlement ledger and the rate limiter in Redis. Every request is answered, the
    /// duplicate reaches the upstream once, and no settle is counted twice.
    /// </summary>
    [Fact]
    public async Task AotBinary_InlineIoConcurrentLoadWithRedis_EveryRequestAnsweredEachAuthorizationSettledOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(150), 200,
            $$"""{"success":true,"transaction":"0xabc123","network":"eip155:84532","payer":"{{FakeFacilitator.Payer}}"}""");
        upstream.AnswerLate("/verify", TimeSpan.FromMilliseconds(50), 200, $$"""{"isValid":true,"payer":"{{FakeFacilitator.Payer}}"}""");
        await using var service = await Service.StartAsync(new()
        {
            ["FACILITATOR_1_URL"] = upstream.Url,
            ["FACILITATOR_2_ENABLED"] = "false",
            ["Redis__ConnectionString"] = redis.ConnectionString,
            ["Redis__KeyPrefix"] = $"inline-{Guid.NewGuid():N}:",
            ["RateLimit__Enabled"] = "true",
        });

        var subscribers = new List<Events.EventStreamClient>();
        for (var i = 0; i < 10; i++)
        {
            var client = await Events.EventStreamClient.ConnectAsync(new Uri(service.Url.Replace("http", "ws", StringComparison.Ordinal) + "/ws"));
            await client.SendAsync("""{"type":"subscribe","channels":["payments"]}""");
            subscribers.Add(client);
        }

        await Task.WhenAll(subscribers.Select(s => s.NextAsync("subscribed")));

        const int distinct = 30;
        var duplicate = PaymentSigner.ValidNow(2, seed: 70, nonceSeed: 999);
        var work = new List<Task<(HttpStatusCode Status, string Body)>>();
        static async Task<(HttpStatusCode Status, string Body)> Read(Task<HttpResponseMessage> sending)
        {
            using var response = await sending;
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        for (var i = 0; i < distinct; i++)
        {
            work.Add(Read(service.SettleAsync(PaymentSigner.ValidNow(2, seed: 71, nonceSeed: i + 1))));
            work.Add(Read(service.VerifyAsync(PaymentSigner.ValidNow(1, seed: 72, nonceSeed: i + 1))));
            work.Add(Read(service.Client.GetAsync("/health")));
        }

        var duplicates = Enumerable.Range(0, 10).Select(_ => Read(service.SettleAsync(duplicate))).ToList();
        var answers = await Task.WhenAll(work);
        var duplicateAnswers = await Task.WhenAll(duplicates);

        Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.OK, $"{a.Status}: {a.Body}\n{service.Output}"));
        Assert.Equal(distinct + 1, upstream.CountOf("/settle"));
        Assert.All(duplicateAnswers, a => Assert.DoesNotContain("\"success\":false", a.Body, StringComparison.Ordinal));
        Assert.Contains(duplicateAnswers, a => a.Body.Contains("\"success\":true", StringComparison.Ordinal));

        // Every subscriber saw every settlement.
        foreach (var subscriber in subscribers)
        {
            await Eventually.TrueAsync(() => subscriber.OfType("payment:settled").Count == distinct + 1, "every settlement's event", 30_000);
            await subscriber.DisposeAsync();
        }
    }
}
