using System.Net;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

using static Facilitator.Fast.Tests.Settlement.SmallFallback;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// The local settlement fallback's rules for what it forgot (its own successes dropped for room) and for copies that
/// outrank its records, attacked end to end with a real Redis and a real upstream on loopback.
/// </summary>
public sealed class FallbackRulesReviewTests(ITestOutputHelper output)
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A successful answer of which the fallback's 1 MiB bound holds one, not two.</summary>
    private static readonly string Medium =
        SettledWithReceipt(600_000, 'm');

    private const string Refused = """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"}""";

    private static Dictionary<string, string?> Settings(RedisServer redis, FakeFacilitator upstream)
    {
        var settings = SmallFallback.Settings(redis, upstream);
        settings["Settlement:FailureRetentionMs"] = "120000";
        settings["Settlement:ReconcileAfterMs"] = "3600000";
        return settings;
    }

    /// <summary>
    /// P1 fails with Redis up (the failure copied, kept two minutes). Redis stops; P1 sent again as another request (the
    /// failure spends nothing) settles on the fallback. P2's success then drops P1's from the fallback for room. A
    /// repeat of P1 must not be sent again: the fallback settled it, and refuses fresh claims of keys it dropped a
    /// success of — yet the copy of the earlier failure is seeded, and a failure lets any other request settle afresh.
    /// </summary>
    [Fact]
    public async Task Settle_OwnSuccessEvictedWhileCopyHoldsEarlierFailure_RepeatNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Refused);
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        var p1 = PaymentSigner.Request(PaymentSigner.CreatePayer(9401), 2, Now - 600, Now + 1200, nonceSeed: 41);
        var p2 = PaymentSigner.Request(PaymentSigner.CreatePayer(9402), 2, Now - 600, Now + 1200, nonceSeed: 42);

        using (var failed = await gateway.PostAsync("/settle", p1))
        {
            Assert.Equal(Refused, await failed.Content.ReadAsStringAsync());
        }

        await StopRedisAsync(redis, gateway);
        upstream.Answer("/settle", 200, Medium);
        using (var settled = await gateway.PostAsync("/settle", p1 + " "))
        {
            Assert.Equal(Medium, await settled.Content.ReadAsStringAsync());
        }

        using (var other = await gateway.PostAsync("/settle", p2))
        {
            Assert.Equal(Medium, await other.Content.ReadAsStringAsync());
        }

        Assert.Equal(3, upstream.CountOf("/settle"));
        using var repeat = await gateway.PostAsync("/settle", p1 + "  ");
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"P1 again while Redis is away: {(int)repeat.StatusCode} {Short(answer)}; upstream saw {upstream.CountOf("/settle")}");
        Assert.True(upstream.CountOf("/settle") == 3, $"a success the fallback settled was sent again: upstream saw {upstream.CountOf("/settle")}");
        Assert.NotEqual(HttpStatusCode.InternalServerError, repeat.StatusCode);
    }

    /// <summary>
    /// P1 is left pending at the upstream with Redis up (the connection dropped; copied). Redis stops: a repeat retries
    /// it at its holder through the fallback, which succeeds. P2's success drops P1's from the fallback for room. A
    /// repeat of P1 must not be sent again: the fallback learned its success — yet the copy of the pending record is
    /// seeded again and retried at the holder.
    /// </summary>
    [Fact]
    public async Task Settle_OwnRetrySuccessEvictedWhileCopyHoldsPending_RepeatNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Drop("/settle");
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        var p1 = PaymentSigner.Request(PaymentSigner.CreatePayer(9403), 2, Now - 600, Now + 1200, nonceSeed: 43);
        var p2 = PaymentSigner.Request(PaymentSigner.CreatePayer(9404), 2, Now - 600, Now + 1200, nonceSeed: 44);

        using (var dropped = await gateway.PostAsync("/settle", p1))
        {
            output.WriteLine($"P1 dropped: {(int)dropped.StatusCode} {Short(await dropped.Content.ReadAsStringAsync())}");
            Assert.Equal(HttpStatusCode.Accepted, dropped.StatusCode);
        }

        await StopRedisAsync(redis, gateway);
        upstream.Answer("/settle", 200, Medium);
        using (var retried = await gateway.PostAsync("/settle", p1))
        {
            Assert.Equal(Medium, await retried.Content.ReadAsStringAsync());
        }

        using (var other = await gateway.PostAsync("/settle", p2))
        {
            Assert.Equal(Medium, await other.Content.ReadAsStringAsync());
        }

        Assert.Equal(3, upstream.CountOf("/settle"));
        using var repeat = await gateway.PostAsync("/settle", p1);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"P1 again while Redis is away: {(int)repeat.StatusCode} {Short(answer)}; upstream saw {upstream.CountOf("/settle")}");
        Assert.True(upstream.CountOf("/settle") == 3, $"a success the fallback learned was sent again: upstream saw {upstream.CountOf("/settle")}");
        Assert.NotEqual(HttpStatusCode.InternalServerError, repeat.StatusCode);
    }

    /// <summary>
    /// Redis is away; the fallback settles P1 (about to expire) and then P2, whose success drops P1's for room. Once P1
    /// has expired, a repeat of it is looked up in the ledger for its validity window: the fallback knows it dropped a
    /// success and holds nothing of P1, so it must not tell the resource server that this settled payment failed.
    /// </summary>
    [Fact]
    public async Task Settle_ExpiredRepeatAfterFallbacksOwnSuccessEvicted_NotAnsweredAsFailed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Medium);
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        await StopRedisAsync(redis, gateway);
        var validBefore = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 8;
        var p1 = PaymentSigner.Request(PaymentSigner.CreatePayer(9405), 2, Now - 600, validBefore, nonceSeed: 45);
        var p2 = PaymentSigner.Request(PaymentSigner.CreatePayer(9406), 2, Now - 600, Now + 1200, nonceSeed: 46);

        foreach (var payment in new[] { p1, p2 })
        {
            using var settled = await gateway.PostAsync("/settle", payment);
            Assert.Equal(Medium, await settled.Content.ReadAsStringAsync());
        }

        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() > validBefore + 1, "P1 expires", 20_000);
        using var repeat = await gateway.PostAsync("/settle", p1);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"expired P1 again while Redis is away: {(int)repeat.StatusCode} {Short(answer)}");
        Assert.Equal(2, upstream.CountOf("/settle"));
        Assert.Contains(repeat.StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.ServiceUnavailable });
        Assert.DoesNotContain("valid_before", answer, StringComparison.Ordinal);
    }
    /// <summary>
    /// This instance settles P1 (about to expire) and P2 with Redis up; P2's copy drops P1's for room, so the copies are
    /// incomplete. Redis stops and P1 expires. A repeat of P1 is looked up in the ledger for its validity window: the
    /// ledger refuses to answer "no record" from incomplete copies (it throws) — and that refusal must not become the
    /// answer that this settled payment failed.
    /// </summary>
    [Fact]
    public async Task Settle_ExpiredRepeatWhoseCopyWasEvicted_NotAnsweredAsFailed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Medium);
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        var validBefore = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 12;
        var p1 = PaymentSigner.Request(PaymentSigner.CreatePayer(9407), 2, Now - 600, validBefore, nonceSeed: 47);
        var p2 = PaymentSigner.Request(PaymentSigner.CreatePayer(9408), 2, Now - 600, Now + 1200, nonceSeed: 48);

        foreach (var payment in new[] { p1, p2 })
        {
            using var settled = await gateway.PostAsync("/settle", payment);
            Assert.Equal(Medium, await settled.Content.ReadAsStringAsync());
        }

        await StopRedisAsync(redis, gateway);
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() > validBefore + 1, "P1 expires", 30_000);
        using var repeat = await gateway.PostAsync("/settle", p1);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"expired P1 again while Redis is away: {(int)repeat.StatusCode} {Short(answer)}");
        Assert.Equal(2, upstream.CountOf("/settle"));
        Assert.Contains(repeat.StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.ServiceUnavailable });
        Assert.DoesNotContain("valid_before", answer, StringComparison.Ordinal);
    }
    /// <summary>
    /// The same with the fallback off: P1 settles in Redis, Redis stops, P1 expires. The ledger cannot be read; a repeat
    /// of P1 must be refused for now (503), not told that this settled payment failed.
    /// </summary>
    [Fact]
    public async Task Settle_ExpiredRepeatWhileRedisAwayFallbackOff_NotAnsweredAsFailed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Medium);
        var settings = Settings(redis, upstream);
        settings["Redis:LocalSettlementFallback"] = "false";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var validBefore = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 10;
        var p1 = PaymentSigner.Request(PaymentSigner.CreatePayer(9409), 2, Now - 600, validBefore, nonceSeed: 49);

        using (var settled = await gateway.PostAsync("/settle", p1))
        {
            Assert.Equal(Medium, await settled.Content.ReadAsStringAsync());
        }

        await StopRedisAsync(redis, gateway);
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() > validBefore + 1, "P1 expires", 30_000);
        using var repeat = await gateway.PostAsync("/settle", p1);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"expired P1 again while Redis is away (fallback off): {(int)repeat.StatusCode} {Short(answer)}");
        Assert.Equal(1, upstream.CountOf("/settle"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, repeat.StatusCode);
    }
    /// <summary>
    /// Redis is away; the fallback settles X and then P2, whose success drops X's for room. An unchecked copy of X (its
    /// <c>from</c> recased: its own key, the payer's nonce consulted) and Y — the payer's other authorization with X's
    /// nonce — must neither be sent nor answered with X's success: the fallback holds nothing of them and knows it
    /// dropped a success.
    /// </summary>
    [Fact]
    public async Task Settle_FallbacksOwnSuccessEvicted_UncheckedCopyAndOtherAuthorizationNotSent()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Medium);
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        var payer = PaymentSigner.CreatePayer(9410);
        var x = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, nonceSeed: 50);
        var y = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, value: "20000", amount: "20000", nonceSeed: 50);
        var p2 = PaymentSigner.Request(PaymentSigner.CreatePayer(9411), 2, Now - 600, Now + 1200, nonceSeed: 51);
        var letter = payer.Address.Select((c, i) => (c, i)).First(static p => p.i >= 2 && p.c is >= 'a' and <= 'f').i;
        var from = payer.Address.ToCharArray();
        from[letter] = char.ToUpperInvariant(from[letter]);
        var unchecked1 = x.Replace(payer.Address, new string(from), StringComparison.Ordinal);

        await StopRedisAsync(redis, gateway);
        foreach (var payment in new[] { x, p2 })
        {
            using var settled = await gateway.PostAsync("/settle", payment);
            Assert.Equal(Medium, await settled.Content.ReadAsStringAsync());
        }

        foreach (var (name, payment) in new[] { ("unchecked copy of X", unchecked1), ("Y", y) })
        {
            using var repeat = await gateway.PostAsync("/settle", payment);
            var answer = await repeat.Content.ReadAsStringAsync();
            output.WriteLine($"{name} while Redis is away: {(int)repeat.StatusCode} {Responses.Header(repeat, "X-Facilitator-Local-Verdict")} {Short(answer)}");
            Assert.True(upstream.CountOf("/settle") == 2, $"{name} was sent: upstream saw {upstream.CountOf("/settle")}");
            Assert.NotEqual(HttpStatusCode.InternalServerError, repeat.StatusCode);
            if (name == "Y")
            {
                Assert.NotEqual(Medium, answer);
            }
        }
    }
}
