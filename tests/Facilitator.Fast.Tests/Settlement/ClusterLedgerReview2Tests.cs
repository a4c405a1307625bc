using System.Net;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// The settlement ledger's local fallback attacked once more: a repeat of a settlement the shared
/// ledger recorded, presented on the same instance while Redis is away with the local fallback on, and a pending
/// settlement's repeat in the same situation, with the fallback on and off.
/// </summary>
public sealed class ClusterLedgerReview2Tests(ITestOutputHelper output)
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static async Task StopRedisAsync(RedisServer redis, GatewayHost gateway)
    {
        var connection = gateway.Services.GetRequiredService<RedisConnection>();
        await redis.StopAsync();
        await Eventually.TrueAsync(() => !connection.IsConnected, "the instance sees Redis gone");
    }

    /// <summary>
    /// The README promises the local fallback "settles at most once per instance". A settlement recorded in Redis is
    /// invisible to the local ledger, so its repeat on the same instance while Redis is stopped is claimed locally
    /// and sent to the upstream a second time.
    /// </summary>
    [Fact]
    public async Task Settle_FallbackOnSettledInRedisThenRedisStops_RepeatOnTheSameInstanceIsNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(961), 2, Now - 600, Now + 1200, nonceSeed: 61);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
        }

        Assert.Equal(1, upstream.CountOf("/settle"));
        await StopRedisAsync(redis, gateway);

        using var repeat = await gateway.PostAsync("/settle", payment);
        var body = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"repeat while Redis is away: {(int)repeat.StatusCode} {body} ({Header(repeat, "X-Facilitator-Settlement")}); upstream saw {upstream.CountOf("/settle")}");
        Assert.True(
            upstream.CountOf("/settle") == 1,
            $"a settlement recorded in Redis was sent again on the same instance: upstream saw {upstream.CountOf("/settle")}, repeat answered {(int)repeat.StatusCode} {body}");
    }

    /// <summary>
    /// A settlement is pending at the primary (its settle timed out, the primary is now unhealthy) in Redis. Redis
    /// stops; with the local fallback on, the repeat on the same instance is claimed afresh in the local ledger and
    /// routed like a new settle — the primary now refusing connections, to the secondary: one authorization sent to two upstreams by one instance.
    /// </summary>
    [Fact]
    public async Task Settle_FallbackOnPendingInRedisThenRedisStops_RepeatNeverReachesASecondUpstream()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        secondary.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        settings["Aggregator:SettleTimeoutMs"] = "300";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(962), 2, Now - 600, Now + 1200, nonceSeed: 62);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            Assert.Equal("primary", Header(first, "X-Facilitator-Upstream"));
        }

        // The primary now refuses connections: a fresh claim's route provably skips it and moves on.
        await primary.DisposeAsync();
        await StopRedisAsync(redis, gateway);

        using var repeat = await gateway.PostAsync("/settle", payment);
        var body = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"repeat while Redis is away: {(int)repeat.StatusCode} {body} (upstream {Header(repeat, "X-Facilitator-Upstream")})");
        Assert.True(
            secondary.CountOf("/settle") == 0,
            $"a settlement pending at the primary reached the secondary too: {(int)repeat.StatusCode} {body}");
    }

    /// <summary>The same sequence with the fallback off (the default): refused unsent, the secondary never asked.</summary>
    [Fact]
    public async Task Settle_FallbackOffPendingInRedisThenRedisStops_RepeatRefusedUnsent()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        secondary.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(963), 2, Now - 600, Now + 1200, nonceSeed: 63);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        var primarySaw = primary.CountOf("/settle");
        await primary.DisposeAsync();
        await StopRedisAsync(redis, gateway);

        using var repeat = await gateway.PostAsync("/settle", payment);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, repeat.StatusCode);
        Assert.Equal(0, secondary.CountOf("/settle"));
        Assert.Equal(primarySaw, primary.CountOf("/settle"));
    }

    /// <summary>
    /// A settlement pending at the primary is tracked by the instance's reconciler, which asks the primary again until
    /// it learns the outcome. While Redis is away the local fallback's empty read is taken as the ledger's word ("no
    /// record"), so the reconciler counts the settlement resolved and stops tracking it: once Redis returns, nobody
    /// asks the holder again until a repeat arrives.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reconcile_RedisAwayWhileASettlementIsPending_TheReconcilerKeepsTrackingIt(bool localSettlementFallback)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var primary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        var settings = redis.GatewaySettings(("primary", primary.Url));
        settings["Redis:LocalSettlementFallback"] = localSettlementFallback ? "true" : "false";
        settings["Aggregator:SettleTimeoutMs"] = "300";
        settings["Settlement:ReconcileAfterMs"] = "100";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var reconciler = gateway.Services.GetRequiredService<PendingReconciler>();
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(965), 2, Now - 600, Now + 1200, nonceSeed: 65);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        Assert.Equal(1, reconciler.Count);
        await StopRedisAsync(redis, gateway);

        // The reconciler runs every 100 ms doubling; within 4 s it has had several rounds with Redis away.
        var deadline = DateTime.UtcNow.AddSeconds(4);
        while (DateTime.UtcNow < deadline && reconciler.Count == 1)
        {
            await Task.Delay(50);
        }

        output.WriteLine($"tracked {reconciler.Count}, resolved {reconciler.Resolved}, primary saw {primary.CountOf("/settle")}");
        Assert.True(reconciler.Count == 1, $"the pending settlement was dropped from reconciliation while Redis was away (resolved {reconciler.Resolved})");
    }
}
