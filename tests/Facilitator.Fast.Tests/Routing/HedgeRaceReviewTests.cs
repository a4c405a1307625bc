using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// Adversarial review of the hedge race without linked sources, delay or WhenAny: an attempt's timeout is still a
/// timeout (never an unhandled cancellation), a settle is never hedged, the loser is cancelled, and under concurrency
/// every caller gets the answer to its own payment.
/// </summary>
public sealed partial class HedgeRaceReviewTests
{
    private static string Ms(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static Dictionary<string, string?> Settings(FakeFacilitator primary, FakeFacilitator secondary, int hedgeDelayMs, int timeoutMs = 5000)
    {
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:HedgeMinDelayMs"] = Ms(hedgeDelayMs);
        settings["Aggregator:HedgeMaxDelayMs"] = Ms(hedgeDelayMs);
        settings["FACILITATOR_TIMEOUT_MS"] = Ms(timeoutMs);
        settings["FACILITATOR_RETRIES"] = "0";

        // Keeps the primary first (and so the hedge in play) however often it fails.
        settings["Aggregator:MaxConsecutiveFailures"] = "1000";
        settings["Aggregator:ExtraRequestMinimum"] = "100000";
        return settings;
    }

    [GeneratedRegex("\"from\":\"(0x[0-9a-fA-F]{40})\"")]
    private static partial Regex From();

    /// <summary>Answers valid for the request's own payer after a random delay up to <paramref name="maxDelayMs"/>.</summary>
    private static void EchoPayer(FakeFacilitator upstream, int maxDelayMs) => upstream.On("/verify", async context =>
    {
        var payer = From().Match(FakeFacilitator.RequestOf(context).BodyText).Groups[1].Value;
        try
        {
            await Task.Delay(Random.Shared.Next(0, maxDelayMs + 1), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await FakeFacilitator.WriteAsync(context, 200, "{\"isValid\":true,\"payer\":\"" + payer + "\"}");
    });

    /// <summary>
    /// The primary hangs and its attempt times out (50 ms) long before the hedge delay (2 s): every verify must fail
    /// over to the secondary. (The race once told its own cancellation from the timeout by the clock; a timer firing a
    /// tick early was taken for the race's, escaped as a cancellation and answered 500 with no failover.)
    /// </summary>
    [Fact]
    public async Task Verify_PrimaryTimesOutBeforeHedgeDelay_FailsOverEveryTime()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/verify");
        var settings = Settings(primary, secondary, hedgeDelayMs: 2000);
        settings["Upstreams:0:TimeoutMs"] = "50";
        await using var gateway = await GatewayHost.StartAsync(settings);

        var statuses = new List<string>();
        for (var batch = 0; batch < 6; batch++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => gateway.PostAsync("/verify", SignedPayments.V2)));
            foreach (var response in responses)
            {
                using (response)
                {
                    statuses.Add($"{(int)response.StatusCode} {Header(response, "X-Facilitator-Upstream")} {await response.Content.ReadAsStringAsync()}");
                }
            }
        }

        var wrong = statuses.Where(s => !s.StartsWith("200 secondary", StringComparison.Ordinal)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {statuses.Count} verifies did not fail over: {string.Join(" | ", wrong.Distinct())}");
    }

    /// <summary>
    /// Both upstreams hang; the hedge fires and both attempts time out inside the race. The verify must end in the
    /// documented all-failed answer (a 5xx other than 500, in the x402 shape), never an unhandled 500.
    /// </summary>
    [Fact]
    public async Task Verify_BothUpstreamsTimeOutInsideTheRace_AllFailedAnswerNever500()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/verify");
        secondary.Hang("/verify");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary, secondary, hedgeDelayMs: 20, timeoutMs: 150));

        var statuses = new List<string>();
        for (var batch = 0; batch < 4; batch++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => gateway.PostAsync("/verify", SignedPayments.V2)));
            foreach (var response in responses)
            {
                using (response)
                {
                    var text = await response.Content.ReadAsStringAsync();
                    statuses.Add($"{(int)response.StatusCode} {text}");
                }
            }
        }

        var wrong = statuses.Where(s => s.StartsWith("500", StringComparison.Ordinal) || s.Contains("failed unexpectedly", StringComparison.Ordinal)).ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {statuses.Count} verifies ended in an unhandled error: {string.Join(" | ", wrong.Distinct())}");
        Assert.All(statuses, s => Assert.False(s.StartsWith('2')));
    }

    /// <summary>
    /// Both upstreams hang and both attempts time out inside the race: whatever the answer, every request the gateway
    /// opened upstream is ended (cancelled by its timeout) soon after, none left holding a connection.
    /// </summary>
    [Fact]
    public async Task Verify_BothUpstreamsTimeOutInsideTheRace_NoUpstreamRequestLeftOpen()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/verify");
        secondary.Hang("/verify");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary, secondary, hedgeDelayMs: 20, timeoutMs: 150));

        for (var batch = 0; batch < 4; batch++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => gateway.PostAsync("/verify", SignedPayments.V2)));
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }

        await Eventually.TrueAsync(
            () => primary.Cancelled == primary.CountOf("/verify") && secondary.Cancelled == secondary.CountOf("/verify"),
            "every upstream request the gateway opened is ended by its timeout",
            timeoutMs: 5_000);
    }

    /// <summary>
    /// A hedge that must still fire when the timeout is far away: the primary is slower than the delay, the secondary
    /// answers, the primary's request is cancelled and the answer is the secondary's.
    /// </summary>
    [Fact]
    public async Task Verify_HedgeWins_LoserCancelledAndCounted()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/verify");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary, secondary, hedgeDelayMs: 30));

        for (var i = 0; i < 5; i++)
        {
            using var response = await gateway.PostAsync("/verify", SignedPayments.V2);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        }

        await Eventually.TrueAsync(() => primary.Cancelled == 5, "every losing primary request is cancelled");
        var stats = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=stats")).GetProperty("statistics").GetProperty("facilitators");
        Assert.Equal(5, stats[1].GetProperty("hedging").GetProperty("fired").GetInt64());
        Assert.Equal(5, stats[1].GetProperty("hedging").GetProperty("won").GetInt64());
    }

    /// <summary>
    /// 120 concurrent verifies of 40 payers, both upstreams answering for the request's own payer after a random delay
    /// around the hedge delay (so primaries and hedges win in turn): every caller gets its own payer back, every request
    /// id is distinct, and nothing stays in flight upstream.
    /// </summary>
    [Fact]
    public async Task Verify_ConcurrentHedgeRaces_EachCallerGetsItsOwnAnswer()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        EchoPayer(primary, 60);
        EchoPayer(secondary, 30);
        await using var gateway = await GatewayHost.StartAsync(Settings(primary, secondary, hedgeDelayMs: 20));
        var payers = Enumerable.Range(0, 40).Select(seed => (Payer: PaymentSigner.CreatePayer(700 + seed), Seed: 700 + seed)).ToArray();
        var bodies = payers.Select(p => (p.Payer.Address, Body: PaymentSigner.ValidNow(2, p.Seed))).ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, 120).Select(async i =>
        {
            var (address, body) = bodies[i % bodies.Length];
            using var response = await gateway.PostAsync("/verify", body);
            var text = await response.Content.ReadAsStringAsync();
            return (Expected: address, response.StatusCode, Text: text, Id: Header(response, "X-Request-Id"), Upstream: Header(response, "X-Facilitator-Upstream"));
        }));

        foreach (var result in results)
        {
            Assert.True(result.StatusCode == HttpStatusCode.OK, $"{result.StatusCode}: {result.Text}");
            Assert.Equal(result.Expected, Json(result.Text).GetProperty("payer").GetString());
        }

        Assert.Equal(results.Length, results.Select(r => r.Id).Distinct().Count());
        var stats = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=stats")).GetProperty("statistics").GetProperty("facilitators");
        var won = stats[1].GetProperty("hedging").GetProperty("won").GetInt64();
        Assert.Equal(results.Count(r => r.Upstream == "secondary"), (int)won);
    }

    /// <summary>
    /// Settles slower than a 10 ms hedge delay, 20 at once, each a distinct authorization: none reaches the secondary,
    /// each is sent exactly once, each caller gets success.
    /// </summary>
    [Fact]
    public async Task Settle_SlowPrimaryUnderConcurrency_NeverHedgedNeverSentTwice()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.AnswerLate("/settle", TimeSpan.FromMilliseconds(200), 200, """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary, secondary, hedgeDelayMs: 10));

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => gateway.PostAsync("/settle", PaymentSigner.ValidNow(2, 800 + i))));
        foreach (var response in responses)
        {
            using (response)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("primary", Header(response, "X-Facilitator-Upstream"));
            }
        }

        Assert.Equal(0, secondary.CountOf("/settle"));
        Assert.Equal(20, primary.CountOf("/settle"));
        Assert.Equal(20, primary.Received.Where(r => r.Path == "/settle").Select(r => r.BodyText).Distinct().Count());
    }

    /// <summary>
    /// The caller goes away while the hedge is racing: both upstream requests are cancelled (nothing left hanging),
    /// and the gateway serves the next verify normally.
    /// </summary>
    [Fact]
    public async Task Verify_CallerAbortsDuringHedge_BothAttemptsCancelled()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/verify");
        secondary.Hang("/verify");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary, secondary, hedgeDelayMs: 30, timeoutMs: 30_000));

        using (var abort = new CancellationTokenSource())
        {
            using var content = new StringContent(SignedPayments.V2, System.Text.Encoding.UTF8, "application/json");
            var pending = gateway.Client.PostAsync("/verify", content, abort.Token);
            await Eventually.TrueAsync(() => secondary.CountOf("/verify") == 1, "the hedge reaches the secondary");
            await abort.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        }

        await Eventually.TrueAsync(() => primary.Cancelled == 1 && secondary.Cancelled == 1, "both upstream requests are cancelled");
        primary.Answer("/verify", 200, """{"isValid":true}""");
        using var next = await gateway.PostAsync("/verify", SignedPayments.V2);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal("primary", Header(next, "X-Facilitator-Upstream"));
    }
}
