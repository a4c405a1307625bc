using System.Net;
using System.Reflection;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// The local settlement fallback's copies of what Redis recorded, attacked: a copy of another instance's claim that
/// went stale, two authorizations sharing a nonce, and the fallback off (no copy kept at all).
/// </summary>
public sealed class FallbackMirrorReviewTests(ITestOutputHelper output)
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static async Task StopRedisAsync(RedisServer redis, GatewayHost gateway)
    {
        var connection = gateway.Services.GetRequiredService<RedisConnection>();
        await redis.StopAsync();
        await Eventually.TrueAsync(() => !connection.IsConnected, "the instance sees Redis gone");
    }

    private static object? Field(SettlementLedger ledger, string name) =>
        typeof(SettlementLedger).GetField(name, BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(ledger);

    /// <summary>
    /// Instance B settles at the only upstream (held). A repeat on A reads B's claim from Redis (copied). Redis hangs;
    /// a repeat on A seeds A's local ledger with B's claim (still leased: answered pending, nothing sent). Redis comes
    /// back and B records the success there. A's local ledger now holds a record it only copied, and "a settlement the
    /// local ledger holds is claimed there first, also after Redis returns": once the copied lease lapses, A takes the
    /// claim over locally and sends the authorization to the upstream again, although Redis — reachable — says it
    /// succeeded.
    /// </summary>
    [Fact]
    public async Task Settle_SeededCopyOfAnotherInstancesClaimThenRedisReturnsFinished_RepeatReplayedNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        settings["Settlement:LeaseMs"] = "9000";
        settings["Settlement:WaitMs"] = "300";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(971), 2, Now - 600, Now + 1200, nonceSeed: 71);

        var onB = b.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "B's settle reaches the upstream");
        using (var seen = await a.PostAsync("/settle", payment))
        {
            output.WriteLine($"A while B holds it: {(int)seen.StatusCode} {await seen.Content.ReadAsStringAsync()}");
        }

        await redis.PauseAsync();
        using (var during = await a.PostAsync("/settle", payment))
        {
            output.WriteLine($"A while Redis hangs: {(int)during.StatusCode} {await during.Content.ReadAsStringAsync()}; upstream saw {upstream.CountOf("/settle")}");
        }

        Assert.Equal(1, upstream.CountOf("/settle"));
        await redis.ResumeAsync();
        release.SetResult();
        using (var settled = await onB)
        {
            Assert.Equal(Settled, await settled.Content.ReadAsStringAsync());
        }

        using (var onBAgain = await b.PostAsync("/settle", payment))
        {
            Assert.Equal(Settled, await onBAgain.Content.ReadAsStringAsync());
        }

        var last = "";
        await Eventually.TrueAsync(
            async () =>
            {
                using var repeat = await a.PostAsync("/settle", payment);
                last = $"{(int)repeat.StatusCode} {await repeat.Content.ReadAsStringAsync()} ({Header(repeat, "X-Facilitator-Settlement")})";
                return repeat.StatusCode != HttpStatusCode.Accepted;
            },
            "A answers the repeat with an outcome once B's lease would have lapsed",
            30_000);
        output.WriteLine($"A after Redis returned: {last}; upstream saw {upstream.CountOf("/settle")}");
        Assert.True(upstream.CountOf("/settle") == 1, $"a settlement Redis records as succeeded was sent again: upstream saw {upstream.CountOf("/settle")}; A answered {last}");
    }

    /// <summary>
    /// Two authorizations of one payer share a nonce but differ in value. The first is settled with Redis up (its
    /// outcome copied); Redis stops; the second on the same instance must not be answered with the first's success
    /// (nor sent): it is a nonce reuse, as Redis would have said.
    /// </summary>
    [Fact]
    public async Task Settle_SeededSuccessAndAnotherAuthorizationWithTheNonce_NotAnsweredWithTheFirstsOutcome()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payer = PaymentSigner.CreatePayer(972);
        var first = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, nonceSeed: 72);
        var other = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, value: "20000", amount: "20000", nonceSeed: 72);

        using (var settled = await gateway.PostAsync("/settle", first))
        {
            Assert.Equal(Settled, await settled.Content.ReadAsStringAsync());
        }

        await StopRedisAsync(redis, gateway);
        using var reused = await gateway.PostAsync("/settle", other);
        var body = await reused.Content.ReadAsStringAsync();
        output.WriteLine($"other authorization with the nonce while Redis is away: {(int)reused.StatusCode} {body}");
        Assert.Equal(1, upstream.CountOf("/settle"));
        Assert.NotEqual(Settled, body);
        Assert.DoesNotContain("\"success\":true", body, StringComparison.Ordinal);

        using var again = await gateway.PostAsync("/settle", first);
        Assert.Equal(Settled, await again.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    /// <summary>With the fallback off (the default) the ledger keeps no copy and talks to Redis directly; on, it keeps one.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Ledger_FallbackSetting_MirrorExistsOnlyWhenOn(bool fallback)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        if (fallback)
        {
            settings["Redis:LocalSettlementFallback"] = "true";
        }

        await using var gateway = await GatewayHost.StartAsync(settings);
        var ledger = gateway.Services.GetRequiredService<SettlementLedger>();

        Assert.Equal(fallback, Field(ledger, "_copies") is not null);
        Assert.Equal(fallback, Field(ledger, "_fallback") is not null);
        Assert.Equal(fallback ? typeof(MirroredSettlementStore) : typeof(RedisSettlementStore), Field(ledger, "_store")!.GetType());
    }

    /// <summary>
    /// A failure copied from Redis is seeded into the local ledger while Redis is away, but spends nothing: the same
    /// authorization presented as a different request settles afresh (as Redis would allow), and is answered with its own outcome.
    /// </summary>
    [Fact]
    public async Task Settle_SeededFailureThenRepeatWhileRedisAway_SettledAfreshWithItsOwnOutcome()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        const string Refused = """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"}""";
        upstream.Answer("/settle", 200, Refused);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(973), 2, Now - 600, Now + 1200, nonceSeed: 73);

        using (var failed = await gateway.PostAsync("/settle", payment))
        {
            output.WriteLine($"first: {(int)failed.StatusCode} {await failed.Content.ReadAsStringAsync()}");
        }

        upstream.Answer("/settle", 200, Settled);
        await StopRedisAsync(redis, gateway);
        using var repeat = await gateway.PostAsync("/settle", payment);
        var body = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"repeat while Redis is away: {(int)repeat.StatusCode} {body}; upstream saw {upstream.CountOf("/settle")}");

        // Either replayed (the identical request within the failure's retention) or settled afresh: never a success unsent.
        Assert.True(body != Settled || upstream.CountOf("/settle") == 2, $"a success was answered that the upstream never gave: {body}");
    }
    /// <summary>
    /// The copies are bounded: a claim's copy fits, the outcome's (with its body) does not. Dropping the claim's copy
    /// would leave the fallback knowing nothing, to claim it afresh; keeping a pending or finished record would be stale.
    /// The copy says the settlement was started — an in-flight mark, never taken over or retried by the fallback.
    /// </summary>
    [Fact]
    public async Task Mirror_OutcomeCopyDoesNotFit_CopyKeptAsInFlightWithoutTheAnswer()
    {
        var key = Sha256Hash.Of("mirror-full"u8);
        var print = Sha256Hash.Of("print"u8);
        var shared = new InMemorySettlementStore(TimeProvider.System, new SettlementWaiters(), 64 * 1024 * 1024);
        var mirrored = new MirroredSettlementStore(shared, new InMemorySettlementStore(TimeProvider.System, new SettlementWaiters(), 1000), static _ => TimeSpan.FromHours(1));
        var claim = new SettlementRecord(SettlementState.InFlight, print, true, "x", "claim", 1, false, false, 0, null, null, 1);
        var stored = await mirrored.ReplaceAsync(key, await mirrored.ReadAsync(key), claim, TimeSpan.FromHours(1), notify: false);
        Assert.Same(claim, (await mirrored.Copies.ReadAsync(key)).Record);

        var finished = new SettlementRecord(SettlementState.Finished, print, true, "x", "claim", 0, false, true, 200, "application/json", new byte[1000], 2);
        Assert.NotNull(await mirrored.ReplaceAsync(key, stored!.Value, finished, TimeSpan.FromHours(1), notify: false));
        Assert.Same(finished, (await shared.ReadAsync(key)).Record);

        var copy = (await mirrored.Copies.ReadAsync(key)).Record;
        output.WriteLine($"copy after the outcome did not fit: {copy?.State.ToString() ?? "none"}");
        // Never a stale claim the fallback could take over or retry: an in-flight mark, answered as in flight there.
        Assert.NotNull(copy);
        Assert.Equal(SettlementState.InFlight, copy.State);
        Assert.Equal(print, copy.Fingerprint);
        Assert.Null(copy.Body);
        Assert.True(mirrored.IsComplete((await mirrored.Copies.ReadAsync(key)).NowMs));
    }

    /// <summary>
    /// This instance owns a settle at the only upstream; Redis hangs while the upstream answers, so the success cannot
    /// be written there (it is queued for retry). A repeat on the same instance is answered from the copy of that
    /// outcome (replayed), never retried at the upstream from the copy of its own claim.
    /// </summary>
    [Fact]
    public async Task Settle_OwnOutcomeUnwrittenWhileRedisHangs_RepeatOnTheSameInstanceNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        settings["Settlement:LeaseMs"] = "3000";
        settings["Settlement:WaitMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(974), 2, Now - 600, Now + 1200, nonceSeed: 74);

        var first = gateway.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the settle reaches the upstream");
        await redis.PauseAsync();
        try
        {
            release.SetResult();
            using (var answered = await first)
            {
                output.WriteLine($"first (Redis hung when the upstream answered): {(int)answered.StatusCode} {await answered.Content.ReadAsStringAsync()}");
            }

            var last = "";
            var deadline = DateTime.UtcNow.AddSeconds(25);
            var body = "";
            while (DateTime.UtcNow < deadline && upstream.CountOf("/settle") == 1 && body != Settled)
            {
                using var repeat = await gateway.PostAsync("/settle", payment);
                body = await repeat.Content.ReadAsStringAsync();
                last = $"{(int)repeat.StatusCode} {body}";
                output.WriteLine($"repeat while Redis hangs: {last}; upstream saw {upstream.CountOf("/settle")}");
            }

            Assert.True(upstream.CountOf("/settle") == 1, $"an authorization this instance settled was sent again: upstream saw {upstream.CountOf("/settle")}; answered {last}");
            Assert.Equal(Settled, body);
        }
        finally
        {
            await redis.ResumeAsync();
        }
    }
    /// <summary>
    /// A copies B's claim (a repeat on A while B's settle is held at the only upstream); B then finishes it in Redis,
    /// which A never reads. Redis stops; a repeat on A, also once the copied lease lapsed, must not be seeded from the
    /// stale claim and retried at the upstream: it is answered pending, as while B held it.
    /// </summary>
    [Fact]
    public async Task Settle_CopyOfAnotherInstancesClaimFinishedThereThenRedisStops_RepeatNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        settings["Settlement:LeaseMs"] = "3000";
        settings["Settlement:WaitMs"] = "300";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(975), 2, Now - 600, Now + 1200, nonceSeed: 75);

        var onB = b.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "B's settle reaches the upstream");
        using (var seen = await a.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, seen.StatusCode);
        }

        release.SetResult();
        using (var settled = await onB)
        {
            Assert.Equal(Settled, await settled.Content.ReadAsStringAsync());
        }

        await StopRedisAsync(redis, a);
        var last = "";
        var pastLease = DateTime.UtcNow.AddSeconds(7);
        while (DateTime.UtcNow < pastLease && upstream.CountOf("/settle") == 1)
        {
            using var repeat = await a.PostAsync("/settle", payment);
            last = $"{(int)repeat.StatusCode} {await repeat.Content.ReadAsStringAsync()}";
            Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
            Assert.Contains("settlement_pending", last, StringComparison.Ordinal);
        }

        output.WriteLine($"A while Redis is away: {last}; upstream saw {upstream.CountOf("/settle")}");
        Assert.True(upstream.CountOf("/settle") == 1, $"a settlement Redis recorded as succeeded was sent again from a stale copy: upstream saw {upstream.CountOf("/settle")}; A answered {last}");
    }
}
