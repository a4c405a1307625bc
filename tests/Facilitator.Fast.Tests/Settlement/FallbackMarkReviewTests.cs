using System.Net;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

using static Facilitator.Fast.Tests.Settlement.SmallFallback;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// The local settlement fallback answering from an in-flight mark (a copy that did not fit) or from incomplete copies,
/// attacked end to end: two authorizations of one nonce, Redis coming back, and a repeat whose authorization expired.
/// </summary>
public sealed class FallbackMarkReviewTests(ITestOutputHelper output)
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A successful settle answer larger than the copies' whole bound (1 MiB).</summary>
    private static readonly string LargeSettled =
        SettledWithReceipt(1_200_000, 'r');

    private const string Refused = """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"}""";

    /// <summary>
    /// B settles Y (held at the upstream); a repeat of Y on A copies B's claim. Y fails; X — the payer's other
    /// authorization with the same nonce — settles on B with an answer too large to copy; a repeat of X on A is
    /// replayed from Redis and its copy does not fit. Redis stops. A repeat of X on A must not be refused as a reuse of
    /// the nonce (answered from Y's claim): X succeeded. Pending, or refused for now (503), is all A may say.
    /// </summary>
    [Fact]
    public async Task Settle_OtherAuthorizationOfTheNonceSettledAndCopyDoesNotFit_NotRefusedAsNonceReuse()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Refused);
        var settings = Settings(redis, upstream);
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payer = PaymentSigner.CreatePayer(991);
        var y = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, nonceSeed: 91);
        var x = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, value: "20000", amount: "20000", nonceSeed: 91);

        var yOnB = b.PostAsync("/settle", y);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "B's settle of Y reaches the upstream");
        using (var seen = await a.PostAsync("/settle", y))
        {
            Assert.Equal(HttpStatusCode.Accepted, seen.StatusCode);
        }

        upstream.Answer("/settle", 200, LargeSettled);
        release.SetResult();
        using (var failed = await yOnB)
        {
            Assert.Equal(Refused, await failed.Content.ReadAsStringAsync());
        }

        using (var settled = await b.PostAsync("/settle", x))
        {
            Assert.Equal(LargeSettled, await settled.Content.ReadAsStringAsync());
        }

        using (var replayed = await a.PostAsync("/settle", x))
        {
            Assert.Equal(LargeSettled, await replayed.Content.ReadAsStringAsync());
        }

        Assert.Equal(2, upstream.CountOf("/settle"));
        await StopRedisAsync(redis, a, b);
        using var repeat = await a.PostAsync("/settle", x);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"X on A while Redis is away: {(int)repeat.StatusCode} {Short(answer)} ({Responses.Header(repeat, "X-Facilitator-Settlement")})");
        Assert.Equal(2, upstream.CountOf("/settle"));
        Assert.DoesNotContain("nonce", answer, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(repeat.StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.ServiceUnavailable });
    }

    /// <summary>
    /// This instance settles; the success's copy does not fit (the claim's copy becomes a mark). Redis hangs: a repeat
    /// is answered pending from the mark. Redis answers again: the mark is no settlement of the local ledger's, so the
    /// repeat is replayed from Redis, and the upstream saw one settle throughout.
    /// </summary>
    [Fact]
    public async Task Settle_MarkThenRedisHangsAndReturns_RepeatReplayedFromRedisNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, LargeSettled);
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(992), 2, Now - 600, Now + 1200, nonceSeed: 92);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(LargeSettled, await first.Content.ReadAsStringAsync());
        }

        await redis.PauseAsync();
        try
        {
            using var during = await gateway.PostAsync("/settle", payment);
            var answer = await during.Content.ReadAsStringAsync();
            output.WriteLine($"repeat while Redis hangs: {(int)during.StatusCode} {Short(answer)}");
            Assert.Equal(HttpStatusCode.Accepted, during.StatusCode);
            Assert.Contains("settlement_pending", answer, StringComparison.Ordinal);
        }
        finally
        {
            await redis.ResumeAsync();
        }

        var last = "";
        await Eventually.TrueAsync(
            async () =>
            {
                using var repeat = await gateway.PostAsync("/settle", payment);
                last = await repeat.Content.ReadAsStringAsync();
                return last == LargeSettled;
            },
            "the repeat is replayed from Redis once it answers",
            30_000);
        output.WriteLine($"after Redis returned: {Short(last)}; upstream saw {upstream.CountOf("/settle")}");
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    /// <summary>
    /// The authorization expires after it was settled; Redis stops. A repeat of it (refused locally for its validity
    /// window, then looked up in the ledger) is answered from the mark: pending, never its success, never a failure.
    /// </summary>
    [Fact]
    public async Task Settle_ExpiredRepeatOfMarkedSettlementWhileRedisAway_AnsweredPendingNotFailed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, LargeSettled);
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        var validBefore = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 8;
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(993), 2, Now - 600, validBefore, nonceSeed: 93);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(LargeSettled, await first.Content.ReadAsStringAsync());
        }

        await StopRedisAsync(redis, gateway);
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() > validBefore + 1, "the authorization expires", 20_000);
        using var repeat = await gateway.PostAsync("/settle", payment);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"expired repeat while Redis is away: {(int)repeat.StatusCode} {Short(answer)}");
        Assert.Equal(1, upstream.CountOf("/settle"));
        Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
        Assert.Contains("settlement_pending", answer, StringComparison.Ordinal);
    }

    /// <summary>
    /// B settles; A replays it from Redis and its copy does not fit (no older copy on A): A's copies are incomplete and
    /// A refuses to settle what it holds nothing of. The authorization then expires and Redis stops: a repeat on A is
    /// looked up in the ledger for its expired window. A holds nothing of it but knows its copies are incomplete; it
    /// must not tell the resource server this settled payment failed (expired) — Redis would have replayed its success.
    /// </summary>
    [Fact]
    public async Task Settle_ExpiredRepeatWithCopiesIncompleteWhileRedisAway_NotAnsweredAsFailed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, LargeSettled);
        var settings = Settings(redis, upstream);
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var validBefore = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 8;
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(994), 2, Now - 600, validBefore, nonceSeed: 94);

        using (var onB = await b.PostAsync("/settle", payment))
        {
            Assert.Equal(LargeSettled, await onB.Content.ReadAsStringAsync());
        }

        using (var replayed = await a.PostAsync("/settle", payment))
        {
            Assert.Equal(LargeSettled, await replayed.Content.ReadAsStringAsync());
        }

        await StopRedisAsync(redis, a, b);
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() > validBefore + 1, "the authorization expires", 20_000);
        using var repeat = await a.PostAsync("/settle", payment);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"expired repeat on A while Redis is away: {(int)repeat.StatusCode} {Short(answer)}");
        Assert.Equal(1, upstream.CountOf("/settle"));

        // Pending (from the in-flight mark of the copy that did not fit) or unavailable — never a failure.
        Assert.Contains(repeat.StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.ServiceUnavailable });
        Assert.DoesNotContain("valid_before", answer, StringComparison.Ordinal);
    }
    /// <summary>
    /// Y fails on A (copied). Redis hangs: a repeat of Y is replayed from the fallback, which is given Y's failure from
    /// the copy (seeded, nothing done with it). Redis answers again and X — the payer's other authorization with the
    /// nonce — settles on A (its success copied). Redis hangs again while the seeded failure is still kept: a repeat of
    /// X on A must be replayed from X's copy, never claimed afresh over Y's stale seeded failure and sent again.
    /// </summary>
    [Fact]
    public async Task Settle_SeededFailureFromEarlierOutageThenOtherAuthorizationSettled_RepeatNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Refused);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        settings["Settlement:FailureRetentionMs"] = "120000";
        settings["Settlement:WaitMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payer = PaymentSigner.CreatePayer(995);
        var y = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, nonceSeed: 95);
        var x = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, value: "20000", amount: "20000", nonceSeed: 95);
        const string settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";

        using (var failed = await gateway.PostAsync("/settle", y))
        {
            Assert.Equal(Refused, await failed.Content.ReadAsStringAsync());
        }

        await redis.PauseAsync();
        try
        {
            using var replayed = await gateway.PostAsync("/settle", y);
            Assert.Equal(Refused, await replayed.Content.ReadAsStringAsync());
        }
        finally
        {
            await redis.ResumeAsync();
        }

        Assert.Equal(1, upstream.CountOf("/settle"));
        upstream.Answer("/settle", 200, settled);
        var xAnswer = "";
        await Eventually.TrueAsync(
            async () =>
            {
                using var onX = await gateway.PostAsync("/settle", x);
                xAnswer = await onX.Content.ReadAsStringAsync();
                return onX.StatusCode != HttpStatusCode.ServiceUnavailable;
            },
            "X is settled once Redis answers",
            30_000);
        Assert.Equal(settled, xAnswer);
        Assert.Equal(2, upstream.CountOf("/settle"));

        await redis.PauseAsync();
        try
        {
            using var repeat = await gateway.PostAsync("/settle", x);
            var answer = await repeat.Content.ReadAsStringAsync();
            output.WriteLine($"X while Redis hangs again: {(int)repeat.StatusCode} {Short(answer)}; upstream saw {upstream.CountOf("/settle")}");
            Assert.True(upstream.CountOf("/settle") == 2, $"X, settled in Redis by this instance, was sent again: upstream saw {upstream.CountOf("/settle")}");
            Assert.Equal(settled, answer);
        }
        finally
        {
            await redis.ResumeAsync();
        }
    }
    /// <summary>
    /// Redis is away; the fallback settles P1 and then P2, whose answers do not both fit its bound: P1's success is
    /// dropped from the local ledger for room (the copies never held it). A repeat of P1 must not be settled afresh —
    /// the fallback knows it dropped a success it settled, as the copies know when they drop one.
    /// </summary>
    [Fact]
    public async Task Settle_FallbacksOwnSuccessEvictedForRoom_RepeatNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var medium = SettledWithReceipt(600_000, 'm');
        upstream.Answer("/settle", 200, medium);
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        var p1 = PaymentSigner.Request(PaymentSigner.CreatePayer(996), 2, Now - 600, Now + 1200, nonceSeed: 96);
        var p2 = PaymentSigner.Request(PaymentSigner.CreatePayer(997), 2, Now - 600, Now + 1200, nonceSeed: 97);

        await StopRedisAsync(redis, gateway);
        foreach (var payment in new[] { p1, p2 })
        {
            using var settled = await gateway.PostAsync("/settle", payment);
            Assert.Equal(medium, await settled.Content.ReadAsStringAsync());
        }

        Assert.Equal(2, upstream.CountOf("/settle"));
        using var repeat = await gateway.PostAsync("/settle", p1);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"P1 again while Redis is away: {(int)repeat.StatusCode} {Short(answer)}; upstream saw {upstream.CountOf("/settle")}");
        Assert.True(upstream.CountOf("/settle") == 2, $"a success the fallback settled was sent again: upstream saw {upstream.CountOf("/settle")}");
    }
    /// <summary>
    /// A /v1 payment settles with an answer too large to copy (a mark left behind). Redis stops: /v1 settle and status
    /// of that payment answer 503 (the payment store is out of reach), never a 500, and nothing is sent again.
    /// </summary>
    [Fact]
    public async Task V1Settle_MarkedSettlementWhileRedisAway_503NotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Payments.PaymentLifecycleTests.Valid);
        upstream.Answer("/settle", 200, LargeSettled);
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(998), 2, Now - 600, Now + 1200, "1500000", "1500000", 98);
        using var verified = await gateway.PostAsync("/v1/verify", payment);
        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        var id = Responses.Json(await verified.Content.ReadAsStringAsync()).GetProperty("paymentId").GetString()!;
        using (var settled = await gateway.PostAsync("/v1/settle", $$"""{"paymentId":"{{id}}"}"""))
        {
            var text = await settled.Content.ReadAsStringAsync();
            output.WriteLine($"/v1 settle: {(int)settled.StatusCode} {Short(text)}");
            Assert.Equal("settled", Responses.Json(text).GetProperty("status").GetString());
        }

        await StopRedisAsync(redis, gateway);
        using var again = await gateway.PostAsync("/v1/settle", $$"""{"paymentId":"{{id}}"}""");
        using var status = await gateway.Client.GetAsync($"/v1/status/{id}");
        output.WriteLine($"while Redis is away: settle {(int)again.StatusCode} {Short(await again.Content.ReadAsStringAsync())}; status {(int)status.StatusCode}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status.StatusCode);
        Assert.Equal(1, upstream.CountOf("/settle"));
    }
    /// <summary>
    /// A copy of an authorization whose <c>from</c> is in a case no reference agrees on (unchecked: its own key, the
    /// payer's nonce consulted) reaches the upstream from A, which drops the connection: pending there. The payer's real
    /// authorization then settles on B with an answer too large to copy; A replays it from Redis (its copies now
    /// incomplete). Redis stops. Another such copy on A must not be sent: Redis would have answered it from the payer's
    /// settled authorization. A looks the payer's nonce up in its incomplete copies, finds nothing, and retries the
    /// copy's pending record at the upstream.
    /// </summary>
    [Fact]
    public async Task Settle_UncheckedCopyAfterPayersSettlementWithCopiesIncomplete_NotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Drop("/settle");
        var settings = Settings(redis, upstream);
        settings["Settlement:ReconcileAfterMs"] = "3600000";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payer = PaymentSigner.CreatePayer(999);
        var payment = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, nonceSeed: 99);
        var letters = payer.Address.Select((c, i) => (c, i)).Where(static p => p.i >= 2 && p.c is >= 'a' and <= 'f').Select(static p => p.i).ToArray();
        string Recased(int letter)
        {
            var from = payer.Address.ToCharArray();
            from[letters[letter]] = char.ToUpperInvariant(from[letters[letter]]);
            return payment.Replace(payer.Address, new string(from), StringComparison.Ordinal);
        }

        using (var dropped = await a.PostAsync("/settle", Recased(0)))
        {
            output.WriteLine($"unchecked copy 1: {(int)dropped.StatusCode} {Responses.Header(dropped, "X-Facilitator-Local-Verdict")} {Short(await dropped.Content.ReadAsStringAsync())}");
            Assert.Equal(1, upstream.CountOf("/settle"));
        }

        upstream.Answer("/settle", 200, LargeSettled);
        using (var onB = await b.PostAsync("/settle", payment))
        {
            Assert.Equal(LargeSettled, await onB.Content.ReadAsStringAsync());
        }

        using (var replayed = await a.PostAsync("/settle", payment))
        {
            Assert.Equal(LargeSettled, await replayed.Content.ReadAsStringAsync());
        }

        using (var followed = await a.PostAsync("/settle", Recased(1)))
        {
            output.WriteLine($"unchecked copy 2 with Redis up: {(int)followed.StatusCode} {Short(await followed.Content.ReadAsStringAsync())}");
        }

        Assert.Equal(2, upstream.CountOf("/settle"));
        await StopRedisAsync(redis, a, b);
        using var repeat = await a.PostAsync("/settle", Recased(2));
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"unchecked copy 3 on A while Redis is away: {(int)repeat.StatusCode} {Short(answer)}; upstream saw {upstream.CountOf("/settle")}");
        Assert.True(upstream.CountOf("/settle") == 2, $"an authorization Redis recorded as settled (read by A) was sent again: upstream saw {upstream.CountOf("/settle")}");
    }
}
