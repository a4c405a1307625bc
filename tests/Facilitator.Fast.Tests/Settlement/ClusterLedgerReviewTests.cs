using System.Globalization;
using System.Net;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// The settlement ledger's replica wait attacked with a real primary and a real replica (frozen with SIGSTOP, so it
/// stays listed by its primary and acknowledges nothing): what a settle is answered, whether anything reaches the
/// upstream, and whether one authorization can be settled twice or answered with another's outcome once it returns.
/// </summary>
public sealed class ClusterLedgerReviewTests(ITestOutputHelper output)
{
    private static async Task<(RedisServer Primary, RedisServer Replica)> PrimaryWithReplicaAsync()
    {
        var primary = await RedisServer.StartAsync();
        var replica = await RedisServer.StartAsync("--replicaof", "127.0.0.1", primary.Port.ToString(CultureInfo.InvariantCulture));
        await Eventually.TrueAsync(
            async () => (await replica.CommandAsync("INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal)
                && (await primary.CommandAsync("INFO", "replication")).Contains("state=online", StringComparison.Ordinal),
            "the replica is online and in sync",
            30_000);
        return (primary, replica);
    }

    private static async Task AssertRefusedUnsentAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode} {body}");
        Assert.Equal("unexpected_settle_error", Json(body).GetProperty("errorReason").GetString());
    }

    [Fact]
    public async Task Settle_ReplicaFrozenBurstOverTwoInstances_Every503UnsentThenEachSettledOnceAndNonceReuseRefused()
    {
        var (primary, replica) = await PrimaryWithReplicaAsync();
        await using var _ = primary;
        await using var __ = replica;
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = primary.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payments = Enumerable.Range(0, 16).Select(static i => Payment(700 + i, 1)).ToArray();

        await replica.PauseAsync();
        var started = DateTime.UtcNow;
        var responses = await Task.WhenAll(payments.Select((p, i) => (i % 2 == 0 ? a : b).PostAsync("/settle", p)));
        output.WriteLine($"16 settles against a frozen replica answered in {(DateTime.UtcNow - started).TotalMilliseconds:F0} ms in all");
        foreach (var response in responses)
        {
            await AssertRefusedUnsentAsync(response);
            response.Dispose();
        }

        Assert.Equal(0, upstream.CountOf("/settle"));
        Assert.True(a.Services.GetRequiredService<RedisSettlementStore>().Replication.Shortfalls > 0);

        await replica.ResumeAsync();

        // Repeats on the other instance: each authorization reaches the upstream once (after the unsent claims lapse).
        for (var i = 0; i < payments.Length; i++)
        {
            var payment = payments[i];
            var other = i % 2 == 0 ? b : a;
            await Eventually.TrueAsync(
                async () =>
                {
                    using var repeat = await other.PostAsync("/settle", payment);
                    return repeat.StatusCode == HttpStatusCode.OK && await repeat.Content.ReadAsStringAsync() == Settled;
                },
                "the repeat settles once the replica acknowledges again",
                40_000);
        }

        Assert.Equal(payments.Length, upstream.CountOf("/settle"));

        // Another authorization of payer 700 with the same nonce never gets the first's success, on either instance.
        foreach (var gateway in new[] { a, b })
        {
            using var reuse = await gateway.PostAsync("/settle", Payment(700, 1, "2500000"));
            await SettlementCoordinatorTests.AssertNonceReusedAsync(reuse);
        }

        Assert.Equal(payments.Length, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_ReplicaFrozenWhileTheUpstreamWorks_SuccessAnsweredAndRepeatsNeverSentAgain()
    {
        var (primary, replica) = await PrimaryWithReplicaAsync();
        await using var _ = primary;
        await using var __ = replica;
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        var settings = primary.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = Payment(731, 1);

        var first = a.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the settle reaches the upstream");

        // The outcome's write cannot be acknowledged: the caller is still told what the upstream answered.
        await replica.PauseAsync();
        release.SetResult();
        using (var answered = await first)
        {
            Assert.Equal(Settled, await answered.Content.ReadAsStringAsync());
        }

        // While the replica is frozen and after it returns, repeats on either instance never reach the upstream again.
        for (var i = 0; i < 4; i++)
        {
            using var repeat = await (i % 2 == 0 ? b : a).PostAsync("/settle", payment);
            var body = await repeat.Content.ReadAsStringAsync();
            Assert.NotEqual(HttpStatusCode.InternalServerError, repeat.StatusCode);
            Assert.Equal(1, upstream.CountOf("/settle"));
            output.WriteLine($"repeat while frozen: {(int)repeat.StatusCode} {body}");
        }

        await replica.ResumeAsync();
        await Eventually.TrueAsync(
            async () =>
            {
                using var repeat = await b.PostAsync("/settle", payment);
                return await repeat.Content.ReadAsStringAsync() == Settled;
            },
            "the recorded success is replayed");
        Assert.Equal(1, upstream.CountOf("/settle"));

        // Another authorization with the payer's nonce is refused, never answered with this success.
        using var reuse = await b.PostAsync("/settle", Payment(731, 1, "9900000"));
        await SettlementCoordinatorTests.AssertNonceReusedAsync(reuse);
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_LocalFallbackOnAndReplicaFrozen_RefusedUnsentAndNeverSettledTwice()
    {
        var (primary, replica) = await PrimaryWithReplicaAsync();
        await using var _ = primary;
        await using var __ = replica;
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = primary.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        await using var a = await GatewayHost.StartAsync(settings);
        var payment = Payment(741, 1);

        // Redis answers; only its replica is slow. README: "past it the settle is refused with 503".
        await replica.PauseAsync();
        using (var first = await a.PostAsync("/settle", payment))
        {
            output.WriteLine($"first (replica frozen): {(int)first.StatusCode} {await first.Content.ReadAsStringAsync()}; upstream saw {upstream.CountOf("/settle")}");
            var sentWhileShort = upstream.CountOf("/settle");
            await replica.ResumeAsync();

            // Whatever the first was answered, the authorization must reach the upstream at most once from here on.
            for (var i = 0; i < 3; i++)
            {
                await Task.Yield();
                using var repeat = await a.PostAsync("/settle", payment);
                output.WriteLine($"repeat {i} (replica back): {(int)repeat.StatusCode} {await repeat.Content.ReadAsStringAsync()}; upstream saw {upstream.CountOf("/settle")}");
            }

            Assert.True(upstream.CountOf("/settle") <= 1, $"one authorization reached the upstream {upstream.CountOf("/settle")} times");
            Assert.Equal(0, sentWhileShort);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        }
    }

    [Fact]
    public async Task Settle_PrimaryRefusesWritesWithNoReplicasWhileTheUpstreamWorks_OutcomeKeptAndNeverSentAgain()
    {
        // README (Redis Cluster) recommends min-replicas-to-write on the primaries; here the replica lags while the upstream works.
        var primary = await RedisServer.StartAsync("--min-replicas-to-write", "1", "--min-replicas-max-lag", "2");
        await using var _ = primary;
        var replica = await RedisServer.StartAsync("--replicaof", "127.0.0.1", primary.Port.ToString(CultureInfo.InvariantCulture));
        await using var __ = replica;
        await Eventually.TrueAsync(
            async () => (await primary.CommandAsync("SET", "probe", "1")).StartsWith("+OK", StringComparison.Ordinal)
                && (await primary.CommandAsync("INFO", "replication")).Contains("state=online", StringComparison.Ordinal),
            "the primary accepts writes with its replica online",
            30_000);
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        var settings = primary.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payment = Payment(751, 1);

        var first = a.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the settle reaches the upstream");
        await replica.PauseAsync();
        await Eventually.TrueAsync(
            async () => (await primary.CommandAsync("SET", "probe", "2")).Contains("NOREPLICAS", StringComparison.Ordinal),
            "the primary refuses writes (NOREPLICAS)",
            30_000);

        release.SetResult();
        using (var answered = await first)
        {
            Assert.Equal(Settled, await answered.Content.ReadAsStringAsync());
        }

        await replica.ResumeAsync();
        await Eventually.TrueAsync(
            async () => (await primary.CommandAsync("SET", "probe", "3")).StartsWith("+OK", StringComparison.Ordinal), "the primary accepts writes again", 30_000);

        // The upstream's success must be recorded (retried until it lands) and replayed; never sent to the upstream again.
        using var repeat = await b.PostAsync("/settle", payment);
        var body = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"repeat on B after the primary accepts writes again: {(int)repeat.StatusCode} {body}; upstream saw {upstream.CountOf("/settle")}");
        Assert.Equal(1, upstream.CountOf("/settle"));
        Assert.Equal(Settled, body);
    }

    [Fact]
    public async Task Settle_RedisUserNotPermittedRole_NoReplicas_SettlesAsBeforeTheReplicaWait()
    {
        // A least-privilege ACL (ROLE is in @admin and @dangerous); the Redis has no replica, so there is nothing to wait for.
        await using var redis = await RedisServer.StartAsync();
        Assert.StartsWith("+OK", await redis.CommandAsync("ACL", "SETUSER", "default", "-role"), StringComparison.Ordinal);
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/settle", Payment(761, 1));
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{(int)response.StatusCode} {body}; /health: {await gateway.Client.GetStringAsync("/health")}");

        Assert.Equal(Settled, body);
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_RedisUserNotPermittedRole_WithReplica_WaitsForTheReplicaAndNeverReadsRolePerSettle()
    {
        var (primary, replica) = await PrimaryWithReplicaAsync();
        await using var _ = primary;
        await using var __ = replica;
        Assert.StartsWith("+OK", await primary.CommandAsync("ACL", "SETUSER", "default", "-role"), StringComparison.Ordinal);
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(primary.GatewaySettings(("only", upstream.Url)));
        var replication = gateway.Services.GetRequiredService<RedisSettlementStore>().Replication;
        var readsAtStart = replication.Topology.Reads;

        for (var i = 0; i < 8; i++)
        {
            using var response = await gateway.PostAsync("/settle", Payment(765 + i, 1));
            Assert.Equal(Settled, await response.Content.ReadAsStringAsync());
        }

        // The replica was counted without ROLE (INFO replication), so every claim and outcome waited for it.
        Assert.True(replication.Waits >= 16, $"{replication.Waits} replica waits for 8 settles");
        Assert.Equal(0, replication.Shortfalls);
        Assert.True(replication.Topology.Reads - readsAtStart < 8, $"the topology was read {replication.Topology.Reads - readsAtStart} times for 8 settles");
        Assert.Equal(8, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_ReplicaFrozenWhileManySettlesWait_AFinishedSettlementIsStillReplayed()
    {
        var (primary, replica) = await PrimaryWithReplicaAsync();
        await using var _ = primary;
        await using var __ = replica;
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = primary.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        var settled = Payment(771, 1);
        using (var first = await a.PostAsync("/settle", settled))
        {
            Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
        }

        // New settles queue their replica waits on the ledger's connection; a finished settlement's repeat only reads.
        var replication = a.Services.GetRequiredService<RedisSettlementStore>().Replication;
        var waitsBefore = replication.Waits;
        await replica.PauseAsync();
        var waiting = Enumerable.Range(0, 24).Select(i => a.PostAsync("/settle", Payment(772 + i, 1))).ToList();
        await Eventually.TrueAsync(() => replication.Waits > waitsBefore, "new settles are waiting for the frozen replica");
        var started = DateTime.UtcNow;
        using var replay = await a.PostAsync("/settle", settled);
        var body = await replay.Content.ReadAsStringAsync();
        output.WriteLine($"replay while 24 settles wait for a frozen replica: {(int)replay.StatusCode} {body} after {(DateTime.UtcNow - started).TotalMilliseconds:F0} ms");
        foreach (var response in await Task.WhenAll(waiting))
        {
            await AssertRefusedUnsentAsync(response);
            response.Dispose();
        }

        Assert.Equal(1, upstream.CountOf("/settle"));
        Assert.Equal(Settled, body);
    }

    [Fact]
    public async Task Settle_LocalFallbackOnAndRedisHangsThenReturns_SettledAtMostOncePerInstance()
    {
        // README: Redis:LocalSettlementFallback=true settles with each instance's local ledger "exactly once per instance only".
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        await using var a = await GatewayHost.StartAsync(settings);
        var payment = Payment(781, 1);

        await redis.PauseAsync();
        using (var first = await a.PostAsync("/settle", payment))
        {
            output.WriteLine($"first (Redis hung): {(int)first.StatusCode} {await first.Content.ReadAsStringAsync()}; upstream saw {upstream.CountOf("/settle")}");
        }

        await redis.ResumeAsync();
        await Eventually.TrueAsync(
            async () => (await a.Client.GetStringAsync("/health")).Contains("\"redis\":\"ok\"", StringComparison.Ordinal), "the instance uses Redis again", 30_000);
        for (var i = 0; i < 3; i++)
        {
            using var repeat = await a.PostAsync("/settle", payment);
            output.WriteLine($"repeat {i} on the same instance: {(int)repeat.StatusCode} {await repeat.Content.ReadAsStringAsync()}; upstream saw {upstream.CountOf("/settle")}");
        }

        Assert.True(upstream.CountOf("/settle") <= 1, $"one authorization reached the upstream {upstream.CountOf("/settle")} times from one instance");
    }
}
