using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Load;

/// <summary>
/// The chaos run's constant mixed load through the balancer of a <see cref="ChaosFleet"/>: each scheduled request
/// carries a payment of its own (signed before the run), and by its index is a verify (4 in 10), a settle (3 in 10;
/// every fourth also sent at once to the other instance, the same authorization) or a <c>/v1</c> lifecycle (3 in 10:
/// verify on one instance, settle by id on the other, status on the first). Every request is recorded as a
/// <see cref="ChaosCall"/>.
/// </summary>
internal sealed class ChaosTraffic
{
    /// <summary>
    /// No request may take longer: past it, it counts as unanswered. Above the longest the service may hold a request by
    /// its settings here: a settle waiting for another caller's settlement (<c>Settlement:WaitMs</c>, the longest settle —
    /// 1.5 s plus 10 s of attempts refused at once — plus 5 s).
    /// </summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(25);

    private readonly ChaosFleet _fleet;
    private readonly Func<double> _clock;

    /// <summary>Payments kept apart from the schedule, for the relay probes (<see cref="ProbeRelayAsync"/>).</summary>
    private const int Probes = 400;

    private int _nextProbe;

    public ChaosTraffic(ChaosFleet fleet, Func<double> clock, int count)
    {
        _nextProbe = count;
        count += Probes;
        _fleet = fleet;
        _clock = clock;
        var payer = PaymentSigner.CreatePayer(7_402);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var asset = Convert.FromHexString(PaymentSigner.BaseSepoliaUsdc.AsSpan(2));
        var from = Convert.FromHexString(payer.Address.AsSpan(2));
        Bodies = new string[count];
        Nonces = new string[count];
        PaymentIds = new Guid[count];
        Parallel.For(0, count, i =>
        {
            Bodies[i] = PaymentSigner.Request(payer, i % 2 == 0 ? 2 : 1, now - 600, now + 1800, nonceSeed: 500_000 + i);
            Nonces[i] = ChaosUpstream.NonceOf(Bodies[i])!;
            PaymentIds[i] = PaymentId.Derive(84532, asset, from, Convert.FromHexString(Nonces[i].AsSpan(2)));
        });
    }

    public string[] Bodies { get; }

    /// <summary>Each payment's nonce, as the upstreams count it.</summary>
    public string[] Nonces { get; }

    /// <summary>Each payment's id, as its events carry it.</summary>
    public Guid[] PaymentIds { get; }

    public ConcurrentQueue<ChaosCall> Calls { get; } = new();

    public static PaymentPath PathOf(long index) => (index % 10) switch
    {
        3 or 4 or 5 => PaymentPath.Settle,
        6 or 7 or 8 => PaymentPath.Lifecycle,
        _ => PaymentPath.Verify,
    };

    /// <summary>The request scheduled as <paramref name="index"/>; its label is the first answer that was not the expected one, or "ok".</summary>
    public async Task<string> SendAsync(long index, CancellationToken cancellationToken)
    {
        var i = (int)index;
        switch (PathOf(index))
        {
            case PaymentPath.Settle:
                var settles = new List<Task<ChaosCall>> { CallAsync("settle", i, i, "/settle", Bodies[i]) };
                if (i / 10 % 4 == 0)
                {
                    settles.Add(CallAsync("settle repeat (other instance)", i + 1, i, "/settle", Bodies[i]));
                }

                var answers = await Task.WhenAll(settles);
                return Label(answers[0]);

            case PaymentPath.Lifecycle:
                var verified = await CallAsync("v1 verify", i, i, "/v1/verify", Bodies[i]);
                if (!verified.Success)
                {
                    return Label(verified);
                }

                var settled = await CallAsync("v1 settle", i + 1, i, "/v1/settle", $$"""{"paymentId":"{{PaymentIds[i]}}"}""");
                var status = await CallAsync("v1 status", i, i, $"/v1/status/{PaymentIds[i]}", null);
                return settled.Success ? Label(status) : Label(settled);

            default:
                return Label(await CallAsync("verify", i, i, "/verify", Bodies[i]));
        }
    }

    /// <summary>
    /// Whether an event triggered on <paramref name="from"/> now reaches the subscribers of the other instance: a verify of a
    /// payment of its own on <paramref name="from"/> (recorded as a <c>relay probe</c>, so its events are checked like any
    /// other), and a wait of at most <paramref name="patience"/> for every subscriber in <paramref name="listening"/> to read it.
    /// </summary>
    /// <returns>When the probe was sent, if it was relayed.</returns>
    public async Task<double?> ProbeRelayAsync(int from, IReadOnlyList<ChaosSubscriber> listening, TimeSpan patience)
    {
        var index = Interlocked.Increment(ref _nextProbe) - 1;
        if (index >= Bodies.Length)
        {
            return null;
        }

        var call = await CallAsync("relay probe", from, index, "/verify", Bodies[index]);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (call.Success && deadline.Elapsed < patience)
        {
            if (listening.All(s => s.Got("payment:verified", PaymentIds[index])))
            {
                return call.Sent;
            }

            await Task.Delay(10);
        }

        return null;
    }

    /// <summary>Sends one request through the balancer (to <paramref name="preferred"/>'s instance, or the other while it is down) and records it.</summary>
    public async Task<ChaosCall> CallAsync(string kind, int preferred, int index, string path, string? body)
    {
        var instance = _fleet.Route(preferred);
        var generation = instance.Generation;
        var sent = _clock();
        ChaosCall call;
        using var timeout = new CancellationTokenSource(RequestTimeout);
        instance.Sending();
        try
        {
            using var request = new HttpRequestMessage(body is null ? HttpMethod.Get : HttpMethod.Post, path);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
            }

            using var response = await instance.Client.SendAsync(request, timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            var status = (int)response.StatusCode;
            var replayed = response.Headers.TryGetValues("X-Facilitator-Settlement", out var values) && values.Contains("replayed");
            var (success, transaction) = Read(path, status, text);
            call = new ChaosCall(kind, instance.Index, generation, sent, _clock(), status.ToString(System.Globalization.CultureInfo.InvariantCulture),
                index, success, replayed, transaction, success ? "" : text[..Math.Min(text.Length, 300)]);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            var outcome = timeout.IsCancellationRequested ? "timeout"
                : instance.Generation != generation ? "cut by kill"
                : "transport";
            call = new ChaosCall(kind, instance.Index, generation, sent, _clock(), outcome, index, false, false, null, ex.Message);
        }
        finally
        {
            instance.Answered();
        }

        Calls.Enqueue(call);
        return call;
    }

    private static (bool Success, string? Transaction) Read(string path, int status, string text)
    {
        if (status != 200)
        {
            return (false, null);
        }

        if (path is "/verify" or "relay probe")
        {
            return (text.Contains("\"isValid\":true", StringComparison.Ordinal), null);
        }

        if (path is "/settle")
        {
            return text.Contains("\"success\":true", StringComparison.Ordinal)
                ? (true, JsonDocument.Parse(text).RootElement.GetProperty("transaction").GetString())
                : (false, null);
        }

        var root = JsonDocument.Parse(text).RootElement;
        if (path is "/v1/verify")
        {
            return (root.TryGetProperty("status", out var verified) && verified.GetString() == "verified", null);
        }

        var payment = root.TryGetProperty("payment", out var p) ? p : root;
        var settled = payment.TryGetProperty("status", out var state) && state.GetString() == "settled";
        if (path is "/v1/settle")
        {
            return (settled, settled && payment.TryGetProperty("transaction", out var tx) ? tx.GetString() : null);
        }

        // A status read is right when it finds the payment (any state: its settle may have been refused or be pending).
        return (root.TryGetProperty("found", out var found) && found.GetBoolean(), null);
    }

    private static string Label(ChaosCall call) => call.Success || call.Status == 202 ? "ok" : $"{call.Kind}: {call.Outcome}";

    /// <summary>What a payment of the run goes through.</summary>
    public enum PaymentPath
    {
        Verify,
        Settle,
        Lifecycle,
    }
}
