using System.Net;
using Facilitator.Fast.Events;
using Facilitator.Fast.Tests.Events;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.State;

/// <summary>
/// Every shared feature on a real Redis Cluster (three primaries, a replica each), two instances given the cluster's
/// seed nodes: settlement ledger and its notifications, payment records and identifiers, analytics, health and its
/// notifications, the probe lock, rate-limit buckets, capabilities and events — each instance's keys spread over the
/// three primaries.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class RedisClusterTests(RedisClusterFixture fixture)
{
    private RedisCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Settle_ConcurrentIdenticalAcrossTwoInstances_OneUpstreamCallAndOneAnswer()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(300), 200, Settled);
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        foreach (var seed in new[] { 41, 42, 43 })
        {
            var payment = PaymentSigner.ValidNow(2, seed: seed);
            var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? a : b).PostAsync("/settle", payment)));
            foreach (var response in responses)
            {
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK && body == Settled, $"{(int)response.StatusCode} {body}");
                response.Dispose();
            }
        }

        Assert.Equal(3, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Payments_VerifyOnA_SettleOnB_StatusAndAnalyticsOnBoth()
    {
        await using var upstream = await UpstreamAsync();
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        var ids = new List<string>();
        for (var nonce = 1; nonce <= 3; nonce++)
        {
            var id = await VerifiedIdAsync(a, Payment(451, nonce));
            using var settled = await SettleAsync(b, id);
            Assert.Equal("settled", (await JsonOf(settled)).GetProperty("status").GetString());
            ids.Add(id);
        }

        foreach (var gateway in new[] { a, b })
        {
            foreach (var id in ids)
            {
                using var status = await gateway.Client.GetAsync($"/v1/status/{id}");
                Assert.Equal("settled", (await JsonOf(status)).GetProperty("payment").GetProperty("status").GetString());
            }

            await Eventually.TrueAsync(
                async () => Json(await gateway.Client.GetStringAsync("/v1/analytics/overview")).GetProperty("totalPayments").GetInt64() == 3,
                "every settled payment is counted once on both instances");
        }

        Assert.Equal(3, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task PaymentIdentifiers_SameIdOnTwoInstances_ConflictsAndRepeatsSeenOnBoth()
    {
        await using var upstream = await FakeFacilitator.StartAsync();

        await Settlement.PaymentIdentifierTests.AssertSameIdOnTwoInstancesAsync(Cluster.GatewaySettings(("only", upstream.Url)), upstream);
    }

    [Fact]
    public async Task Health_UpstreamFailsForInstanceA_InstanceBAvoidsItWithoutFailingFirst()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/verify", 500, "{}");
        var settings = Cluster.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_RETRIES"] = "0";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        (await a.PostAsync("/verify", SignedPayments.V1)).Dispose();
        (await a.PostAsync("/verify", SignedPayments.V1)).Dispose();
        await Eventually.TrueAsync(async () => !await PrimaryHealthyAsync(b), "instance B learns that the primary is unhealthy");

        using var response = await b.PostAsync("/verify", SignedPayments.V1);

        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal(2, primary.CountOf("/verify"));
    }

    [Fact]
    public async Task Capabilities_OnlyTheOtherInstanceProbed_RoutesByWhatItLearned()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();

        await Routing.SharedCapabilitiesTests.AssertTheInstanceThatNeverProbesRoutesByCapabilityAsync(
            Cluster.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url)), primary, secondary);
    }

    [Fact]
    public async Task Probes_TwoInstancesSharingTheLock_OneProbesPerInterval()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        settings["FACILITATOR_HEALTH_CHECK"] = "true";
        settings["FACILITATOR_HEALTH_CHECK_INTERVAL_MS"] = "1000";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        await Eventually.TrueAsync(() => upstream.CountOf("/supported") >= 2, "both instances have started probing");
        var before = upstream.CountOf("/supported");
        await Task.Delay(TimeSpan.FromMilliseconds(3000));

        Assert.InRange(upstream.CountOf("/supported") - before, 2, 4);
    }

    [Fact]
    public async Task RateLimit_TwoInstances_ShareOneBudget()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:verify:Capacity"] = "40";
        settings["RateLimit:Policies:verify:RefillPerSecond"] = "0.001";
        settings["RateLimit:LeaseSize"] = "5";
        settings["RateLimit:LeaseMs"] = "60000";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        var admitted = 0;
        for (var i = 0; i < 120; i++)
        {
            using var response = await (i % 2 == 0 ? a : b).PostAsync("/verify", SignedPayments.V1);
            admitted += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        Assert.InRange(admitted, 40 - (2 * 4), 40);
        Assert.Equal(admitted, upstream.CountOf("/verify"));
        Assert.Equal(0, a.Services.GetRequiredService<Facilitator.Fast.State.RedisConnection>().Fallbacks);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Events_OfEitherInstance_ReachSubscribersOfBoth_ExactlyOnce_AlsoAfterTheChannelsSlotMoved(bool sharded)
    {
        await using var upstream = await UpstreamAsync();
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        settings["Redis:ShardedPubSub"] = sharded ? "true" : "false";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        await using var onA = await EventStreamClient.ConnectAsync(a);
        await using var onB = await EventStreamClient.ConnectAsync(b);
        await onA.NextAsync("connected");
        await onB.NextAsync("connected");

        var fromB = await VerifiedIdAsync(b, Payment(452, 1));
        var fromA = await VerifiedIdAsync(a, Payment(452, 2));
        await onA.NextAsync("payment:verified", m => PaymentIdOf(m) == fromB);
        await onB.NextAsync("payment:verified", m => PaymentIdOf(m) == fromA);
        await onA.NextAsync("payment:verified", m => PaymentIdOf(m) == fromA);
        await onB.NextAsync("payment:verified", m => PaymentIdOf(m) == fromB);

        // Sharded: only the primary owning the channel's slot carries it; moving the slot moves the subscriptions.
        var channel = settings["Redis:KeyPrefix"] + "events";
        var slot = await Cluster.SlotOfAsync(channel);
        var owner = await Cluster.PrimaryOfAsync(slot);
        Assert.Equal(sharded, (await owner.CommandAsync("PUBSUB", "SHARDCHANNELS", channel)).Contains(channel, StringComparison.Ordinal));
        var primaries = await Cluster.PrimariesAsync();
        await Cluster.MoveSlotAsync(slot, primaries[(primaries.IndexOf(owner) + 1) % primaries.Count]);

        var afterFromB = await VerifiedIdAsync(b, Payment(452, 3));
        var afterFromA = await VerifiedIdAsync(a, Payment(452, 4));
        await onA.NextAsync("payment:verified", m => PaymentIdOf(m) == afterFromB, timeoutMs: 20_000);
        await onB.NextAsync("payment:verified", m => PaymentIdOf(m) == afterFromA, timeoutMs: 20_000);

        foreach (var client in new[] { onA, onB })
        {
            foreach (var id in new[] { fromA, fromB, afterFromA, afterFromB })
            {
                await Eventually.TrueAsync(() => client.OfType("payment:verified").Any(m => PaymentIdOf(m) == id), "every event reaches every subscriber");
                Assert.Single(client.OfType("payment:verified"), m => PaymentIdOf(m) == id);
            }
        }

        Assert.True(a.Services.GetRequiredService<EventHub>().Statistics.ReceivedFromOthers >= 1);
        Assert.True(b.Services.GetRequiredService<EventHub>().Statistics.ReceivedFromOthers >= 1);
    }

    [Fact]
    public async Task Settle_SlotsOfClaimsInFlightMoveToAnotherPrimary_NoClaimLostNoSecondUpstreamCall()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(1500), 200, Settled);
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var payments = Enumerable.Range(0, 12).Select(static i => PaymentSigner.ValidNow(2, seed: 460 + i)).ToArray();

        var calls = payments.Select((p, i) => (i % 2 == 0 ? a : b).PostAsync("/settle", p)).ToList();
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == payments.Length || calls.Any(static c => c.IsCompleted), "every settle is claimed and sent");
        if (calls.FirstOrDefault(static c => c.IsCompleted) is { } early)
        {
            using var answered = await early;
            Assert.Fail($"A settle was answered before the upstream answered any: {(int)answered.StatusCode} {await answered.Content.ReadAsStringAsync()}");
        }

        // Each claim's slot moves to another primary while the upstream works, with repeats arriving on the other instance
        // while the slot is marked and between the key batches (the repeats wait for the claim or read the record).
        var keys = await Cluster.KeysAsync(settings["Redis:KeyPrefix"] + "{settle:*");
        Assert.Equal(payments.Length, keys.Count);
        var primaries = await Cluster.PrimariesAsync();
        var moved = 0;
        foreach (var slot in (await Task.WhenAll(keys.Select(Cluster.SlotOfAsync))).Distinct())
        {
            var owner = await Cluster.PrimaryOfAsync(slot);
            var target = primaries[(primaries.IndexOf(owner) + 1) % primaries.Count];
            await Cluster.MoveSlotAsync(slot, target, () =>
            {
                calls.AddRange(payments.Select((p, i) => (i % 2 == 0 ? b : a).PostAsync("/settle", p)));
                return Task.CompletedTask;
            });
            moved++;
        }

        foreach (var response in await Task.WhenAll(calls))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK && body == Settled, $"{(int)response.StatusCode} {body}");
            response.Dispose();
        }

        Assert.True(moved > 0);
        Assert.Equal(payments.Length, upstream.CountOf("/settle"));
        Assert.True(calls.Count > payments.Length * 2);

        // The records are where the slots went: repeats are answered from them, on either instance.
        foreach (var (payment, i) in payments.Select(static (p, i) => (p, i)))
        {
            using var repeat = await (i % 2 == 0 ? b : a).PostAsync("/settle", payment);
            Assert.Equal(Settled, await repeat.Content.ReadAsStringAsync());
        }

        Assert.Equal(payments.Length, upstream.CountOf("/settle"));
    }

    private static string PaymentIdOf(System.Text.Json.JsonElement message) => message.GetProperty("data").GetProperty("paymentId").GetString()!;

    private static async Task<bool> PrimaryHealthyAsync(GatewayHost gateway) =>
        Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health"))
            .GetProperty("health").GetProperty("facilitators")[0].GetProperty("isHealthy").GetBoolean();
}
