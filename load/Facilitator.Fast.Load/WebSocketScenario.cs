using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Tests.Infrastructure;
using HdrHistogram;

namespace Facilitator.Fast.Load;

/// <summary>
/// The event stream under fan-out: the published binary (one instance, its default limits but for the per-address
/// connection caps, since every subscriber comes from this machine), N WebSocket subscribers of <c>payments</c>, and
/// payment events triggered by real verifies sent at a constant rate through a fake upstream. Reports connection time,
/// resident memory per idle subscriber, delivered messages per second, delivery latency from trigger to receipt, and
/// messages lost by subscribers that kept up (must be none: a subscriber the service told <c>lagged</c> did not keep
/// up, and its drops are reported apart).
/// </summary>
internal static partial class WebSocketScenario
{
    /// <summary>A verify of a readable payment produces <c>payment:received</c> and then <c>payment:verified</c> (or <c>payment:failed</c>).</summary>
    private const int EventsPerVerify = 2;

    private const int ConnectConcurrency = 64;

    public static async Task<(List<LoadReport> Reports, List<string> Failures)> RunAsync(
        string binary, IReadOnlyList<(int Subscribers, double EventsPerSecond)> stages, TimeSpan duration)
    {
        await using var upstream = await LatencyUpstream.StartAsync(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1), 0);
        var reports = new List<LoadReport>();
        var failures = new List<string>();
        foreach (var (subscribers, eventsPerSecond) in stages)
        {
            reports.Add(await RunStageAsync(binary, upstream, subscribers, eventsPerSecond, duration, failures));
        }

        return (reports, failures);
    }

    private static async Task<LoadReport> RunStageAsync(
        string binary, LatencyUpstream upstream, int subscriberCount, double eventsPerSecond, TimeSpan duration, List<string> failures)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"websocket: {subscriberCount} subscribers, {eventsPerSecond} events/s");
        var run = new ConstantRateRun(name + " (the verifies)", eventsPerSecond / EventsPerVerify, duration);
        var (payments, ids) = Sign((int)LoadModel.Constant(run.Rate, duration).TotalRequests, subscriberCount, 0);
        var clock = new DeliveryClock(ids);

        await using var service = await ServiceProcess.StartAsync(binary, new Dictionary<string, string>
        {
            ["FACILITATOR_1_URL"] = upstream.Url,
            ["FACILITATOR_2_ENABLED"] = "false",
            ["Edge__Limits__MaxConnectionsPerClient"] = "0",
            ["Events__MaxConnectionsPerClient"] = "0",
        });
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        var (warmPayments, _) = Sign(50, subscriberCount, 10_000_000);
        foreach (var payment in warmPayments)
        {
            await VerifyAsync(client, payment, CancellationToken.None);
        }

        var residentBefore = service.ResidentBytes();
        var subscribers = new EventSubscriber[subscriberCount];
        using var stop = new CancellationTokenSource();
        var receiving = new Task[subscriberCount];
        var connectLatency = new LongHistogram(1, TimeStamp.Seconds(60), 3);
        var connectFailures = 0;
        string? connectFailure = null;
        var endpoint = new Uri($"ws://127.0.0.1:{service.Port}/ws");
        var connecting = Stopwatch.StartNew();
        // The handshakes block (the subscriber never touches .NET's asynchronous socket engine), on threads of their own.
        var nextSubscriber = -1;
        var connectors = Enumerable.Range(0, ConnectConcurrency).Select(_ => new Thread(() =>
        {
            for (var i = Interlocked.Increment(ref nextSubscriber); i < subscriberCount; i = Interlocked.Increment(ref nextSubscriber))
            {
                var subscriber = subscribers[i] = new EventSubscriber();
                var started = Stopwatch.GetTimestamp();
                try
                {
                    subscriber.Connect(endpoint, TimeSpan.FromSeconds(30));
                    lock (connectLatency)
                    {
                        connectLatency.RecordValue(Math.Max((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds, 1));
                    }

                    receiving[i] = subscriber.ReceiveAsync(clock, stop.Token);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
                {
                    Interlocked.CompareExchange(ref connectFailure, ex.Message, null);
                    Interlocked.Increment(ref connectFailures);
                    receiving[i] = Task.CompletedTask;
                }
            }
        }) { IsBackground = true }).ToList();
        connectors.ForEach(t => t.Start());
        connectors.ForEach(t => t.Join());
        var subscribed = Task.WhenAll(subscribers.Where((_, i) => !receiving[i].IsCompleted).Select(s => s.Subscribed));
        await Task.WhenAny(subscribed, Task.Delay(TimeSpan.FromSeconds(60)));
        var connectTime = connecting.Elapsed;
        var notSubscribed = subscribers.Count(s => !s.Subscribed.IsCompleted);
        if (connectFailures > 0 || notSubscribed > 0)
        {
            failures.Add($"{name}: {connectFailures} connections refused or failed (first: {connectFailure}), {notSubscribed} not subscribed within 60 s");
        }

        // Idle: what the connections hold once the handshakes' garbage is gone.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var residentIdle = service.ResidentBytes();

        var serviceCpu = service.ProcessorTime();
        var clientCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var verifies = await run.RunAsync((i, ct) =>
        {
            clock.Triggered(i);
            return VerifyAsync(client, payments[i], ct);
        });

        var expected = verifies.Requests * EventsPerVerify;
        var keepingUp = subscribers.Where(s => s.Subscribed.IsCompleted).ToArray();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20) && keepingUp.Any(s => !s.Lagged && s.Events < expected && s.Failure is null))
        {
            await Task.Delay(50);
        }

        var residentAfter = service.ResidentBytes();
        serviceCpu = service.ProcessorTime() - serviceCpu;
        clientCpu = Process.GetCurrentProcess().TotalProcessorTime - clientCpu;
        await stop.CancelAsync();
        await Task.WhenAll(receiving);
        var delivered = subscribers.Sum(s => s.Events);
        var lagged = keepingUp.Count(s => s.Lagged);
        var lost = keepingUp.Where(s => !s.Lagged).Sum(s => Math.Max(expected - s.Events, 0));
        var duplicated = keepingUp.Sum(s => Math.Max(s.Events - expected, 0));
        var closed = keepingUp.Where(s => s.Failure is not null).Select(s => s.Failure!).ToList();
        foreach (var subscriber in subscribers)
        {
            subscriber.Dispose();
        }

        if (verifies.Outcomes.Any(o => o.Key != "ok"))
        {
            failures.Add($"{name}: verifies answered " + string.Join(", ", verifies.Outcomes.Select(o => $"{o.Key}: {o.Value}")));
        }

        if (lost > 0 || duplicated > 0)
        {
            failures.Add($"{name}: {lost} messages lost and {duplicated} delivered twice to subscribers that kept up");
        }

        if (closed.Count > 0)
        {
            failures.Add($"{name}: {closed.Count} subscribers cut off (first: {closed[0]})");
        }

        var report = LoadReport.From(name, subscriberCount * eventsPerSecond, delivered, clock.Span, clock.Latency, new Dictionary<string, long>
        {
            ["delivered"] = delivered,
            ["lost by subscribers that kept up"] = lost,
        });
        report.Facts["verifies"] = string.Create(CultureInfo.InvariantCulture, $"{verifies.Requests} at {verifies.AchievedRate}/s");
        report.Facts["connect"] = string.Create(CultureInfo.InvariantCulture,
            $"{subscriberCount - connectFailures} in {connectTime.TotalSeconds:F1} s (handshake p50 {Percentile(connectLatency, 50):F1} ms, p99 {Percentile(connectLatency, 99):F1} ms)");
        report.Facts["resident per idle subscriber"] = string.Create(CultureInfo.InvariantCulture,
            $"{(residentIdle - residentBefore) / 1024.0 / Math.Max(subscriberCount, 1):F1} KiB ({residentBefore >> 20} → {residentIdle >> 20} MiB)");
        report.Facts["resident per subscriber after the run"] = string.Create(CultureInfo.InvariantCulture,
            $"{(residentAfter - residentBefore) / 1024.0 / Math.Max(subscriberCount, 1):F1} KiB");
        report.Facts["CPU per delivered message"] = string.Create(CultureInfo.InvariantCulture,
            $"service {serviceCpu.TotalMicroseconds / Math.Max(delivered, 1):F1} µs, this client {clientCpu.TotalMicroseconds / Math.Max(delivered, 1):F1} µs");
        report.Facts["lagged subscribers"] = string.Create(CultureInfo.InvariantCulture, $"{lagged} ({subscribers.Sum(s => s.Dropped)} dropped)");
        return report;
    }

    private static double Percentile(LongHistogram histogram, double percentile) =>
        histogram.TotalCount == 0 ? double.NaN : histogram.GetValueAtPercentile(percentile) / 1000.0;

    /// <summary>Signed verify bodies and the payment id each one's events carry.</summary>
    private static (string[] Bodies, Guid[] Ids) Sign(int count, int payerSeed, int firstNonce)
    {
        var payer = PaymentSigner.CreatePayer(9_000 + payerSeed);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var bodies = new string[count];
        var ids = new Guid[count];
        var asset = Convert.FromHexString(PaymentSigner.BaseSepoliaUsdc.AsSpan(2));
        var from = Convert.FromHexString(payer.Address.AsSpan(2));
        for (var i = 0; i < count; i++)
        {
            bodies[i] = PaymentSigner.Request(payer, i % 2 == 0 ? 2 : 1, now - 600, now + 1800, nonceSeed: firstNonce + i);
            var nonce = Convert.FromHexString(NoncePattern().Match(bodies[i]).Groups[1].ValueSpan);
            ids[i] = PaymentId.Derive(84532, asset, from, nonce);
        }

        return (bodies, ids);
    }

    private static async Task<string> VerifyAsync(HttpClient client, string body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var response = await client.PostAsync("/verify", content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return (int)response.StatusCode != 200 ? $"HTTP {(int)response.StatusCode}"
            : text.Contains("\"isValid\":true", StringComparison.Ordinal) ? "ok"
            : "wrong answer";
    }

    [GeneratedRegex("\"nonce\":\"0x([0-9a-f]{64})\"")]
    private static partial Regex NoncePattern();
}
