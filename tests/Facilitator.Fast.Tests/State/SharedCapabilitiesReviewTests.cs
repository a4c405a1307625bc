using System.Net;
using System.Text;
using Facilitator.Fast.Tests.Events;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.State;

/// <summary>
/// Shared features on a real Redis Cluster attacked as a payer, a resource server and a stranger: another authorization
/// with a payer's nonce while the first is in flight on the other instance, garbage and oversized capabilities under the
/// shared key, crafted requests every upstream rejects, and events published while the events channel's slot moves.
/// </summary>
[Collection(RedisClusterCollection.Name)]
public sealed class SharedCapabilitiesReviewTests(RedisClusterFixture fixture, ITestOutputHelper output)
{
    private const string V2BaseSepolia = """{"kinds":[{"x402Version":2,"scheme":"exact","network":"eip155:84532"}]}""";

    private const string SolanaVerify = """
        {"x402Version":2,"paymentPayload":{"x402Version":2,"accepted":{"scheme":"exact","network":"solana:devnet","amount":"1","asset":"So1","payTo":"So2","maxTimeoutSeconds":60},"payload":{"transaction":"AAAA"}},"paymentRequirements":{"scheme":"exact","network":"solana:devnet","amount":"1","asset":"So1","payTo":"So2","maxTimeoutSeconds":60}}
        """;

    private RedisCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Settle_AnotherAuthorizationWithThePayersNonceWhileTheFirstIsInFlightOnTheOtherInstance_RefusedNeverTheFirstsSuccess()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var first = Payment(811, 5);
        var other = Payment(811, 5, "7700000");

        var settling = a.PostAsync("/settle", first);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the first authorization reaches the upstream");

        using (var whileInFlight = await b.PostAsync("/settle", other))
        {
            await Settlement.SettlementCoordinatorTests.AssertNonceReusedAsync(whileInFlight);
        }

        release.SetResult();
        using (var settled = await settling)
        {
            Assert.Equal(Settled, await settled.Content.ReadAsStringAsync());
        }

        foreach (var gateway in new[] { a, b })
        {
            using var afterwards = await gateway.PostAsync("/settle", other);
            await Settlement.SettlementCoordinatorTests.AssertNonceReusedAsync(afterwards);
            using var repeat = await gateway.PostAsync("/settle", first);
            Assert.Equal(Settled, await repeat.Content.ReadAsStringAsync());
        }

        Assert.Equal(1, upstream.CountOf("/settle"));
        Assert.DoesNotContain(upstream.Received, r => r.Path == "/settle" && r.BodyText.Contains("7700000", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("""{"kinds":null}""")]
    [InlineData("[1,2,3]")]
    [InlineData("""{"kinds":[{"x402Version":"two","scheme":7}]}""")]
    public async Task Capabilities_GarbageUnderTheSharedKeyAndAnnounced_IgnoredAndEveryRequestStillServed(string garbage)
    {
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/supported", 200, V2BaseSepolia);
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        var key = settings["Redis:KeyPrefix"] + "{caps}:only";
        var holder = await Cluster.PrimaryOfAsync(await Cluster.SlotOfAsync(key));
        Assert.StartsWith("+OK", await holder.CommandAsync("SET", key, garbage), StringComparison.Ordinal);
        await using var a = await GatewayHost.StartAsync(settings);

        // Read at start and again when announced by a "stranger" instance id.
        await holder.CommandAsync("PUBLISH", settings["Redis:KeyPrefix"] + "capabilities", "stranger|only");
        using (var supported = await a.Client.GetAsync("/supported"))
        {
            Assert.Equal(HttpStatusCode.OK, supported.StatusCode);
            Assert.Contains("eip155:84532", await supported.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var verify = await a.PostAsync("/verify", SignedPayments.V2))
        {
            Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
            Assert.Equal("only", Header(verify, "X-Facilitator-Upstream"));
        }

        using var settle = await a.PostAsync("/settle", Payment(812, 1));
        Assert.Equal(Settled, await settle.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Capabilities_UpstreamAnswersMoreThanTheResponseLimit_NothingSharedAndOtherInstancesUnaffected()
    {
        await using var upstream = await UpstreamAsync();
        var kinds = new StringBuilder("""{"kinds":[""");
        for (var i = 0; kinds.Length < 2 * 1024 * 1024; i++)
        {
            kinds.Append(i == 0 ? "" : ",").Append("""{"x402Version":2,"scheme":"exact","network":"eip155:""").Append(i).Append("\"}");
        }

        upstream.Answer("/supported", 200, kinds.Append("]}").ToString());
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        using (var supported = await a.Client.GetAsync("/supported"))
        {
            Assert.NotEqual(HttpStatusCode.InternalServerError, supported.StatusCode);
        }

        Assert.True(upstream.CountOf("/supported") >= 1);
        Assert.Empty(await Cluster.KeysAsync(settings["Redis:KeyPrefix"] + "{caps}:*"));
        using var verify = await b.PostAsync("/verify", SignedPayments.V2);
        Assert.Equal("only", Header(verify, "X-Facilitator-Upstream"));
    }

    [Fact]
    public async Task Health_CraftedRequestsEveryUpstreamRejectsOrFailsOn_AllHealthyOnBothClusterInstances()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        foreach (var upstream in new[] { primary, secondary })
        {
            // The crafted request makes every upstream fail with a 500; any other request is answered.
            upstream.On("/verify", static context =>
                FakeFacilitator.RequestOf(context).BodyText.Contains("solana:devnet", StringComparison.Ordinal)
                    ? FakeFacilitator.WriteAsync(context, 500, "unknown network", "text/plain")
                    : FakeFacilitator.WriteAsync(context, 200, Valid));
        }

        var settings = Cluster.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        settings["RateLimit:Enabled"] = "true";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        for (var i = 0; i < 6; i++)
        {
            using var response = await (i % 2 == 0 ? a : b).PostAsync("/verify", SolanaVerify);
            Assert.NotEqual(HttpStatusCode.InternalServerError, response.StatusCode);
        }

        foreach (var gateway in new[] { a, b })
        {
            var facilitators = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health")).GetProperty("health").GetProperty("facilitators");
            Assert.All(facilitators.EnumerateArray(), static f => Assert.True(f.GetProperty("isHealthy").GetBoolean(), f.GetProperty("id").GetString()));
            using var valid = await gateway.PostAsync("/verify", SignedPayments.V2);
            Assert.Equal("primary", Header(valid, "X-Facilitator-Upstream"));
        }
    }

    /// <summary>
    /// README (Redis Cluster): with sharded pub/sub, events published while the events channel's slot moves may be lost
    /// for the other instances (SPUBLISH follows the slot before their SSUBSCRIBE does): at most once, never twice nor
    /// invented; the publishing instance's own subscribers get each event once.
    /// </summary>
    [Fact]
    public async Task Events_PublishedWhileTheChannelsSlotMoves_AtMostOnceOnTheOtherInstanceAndOnceOnItsOwn()
    {
        await using var upstream = await UpstreamAsync();
        var settings = Cluster.GatewaySettings(("only", upstream.Url));
        settings["Redis:ShardedPubSub"] = "true";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        await using var onA = await EventStreamClient.ConnectAsync(a);
        await using var onB = await EventStreamClient.ConnectAsync(b);
        await onA.NextAsync("connected");
        await onB.NextAsync("connected");
        var warm = await VerifiedIdAsync(b, Payment(813, 1));
        await onA.NextAsync("payment:verified", m => PaymentIdOf(m) == warm);

        var channel = settings["Redis:KeyPrefix"] + "events";
        var slot = await Cluster.SlotOfAsync(channel);
        var owner = await Cluster.PrimaryOfAsync(slot);
        var primaries = await Cluster.PrimariesAsync();
        var ids = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var nonce = 2;
        using var moving = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            while (!moving.IsCancellationRequested)
            {
                ids.Enqueue(await VerifiedIdAsync(b, Payment(813, nonce++)));
            }
        });
        await Eventually.TrueAsync(() => ids.Count >= 3, "events are being published");
        await Cluster.MoveSlotAsync(slot, primaries[(primaries.IndexOf(owner) + 1) % primaries.Count]);
        await moving.CancelAsync();
        await publishing;

        // Once the subscription has followed the slot, events reach the other instance again.
        var after = new List<string>();
        await Eventually.TrueAsync(
            async () =>
            {
                after.Add(await VerifiedIdAsync(b, Payment(813, nonce++)));
                return onA.OfType("payment:verified").Any(m => after.Contains(PaymentIdOf(m)));
            },
            "an event published after the move reaches the other instance",
            30_000);

        var missing = ids.Count(id => !onA.OfType("payment:verified").Any(m => PaymentIdOf(m) == id));
        output.WriteLine($"{ids.Count} events published during the move; {missing} never reached the other instance (at-most-once, README)");
        foreach (var id in ids)
        {
            Assert.True(onA.OfType("payment:verified").Count(m => PaymentIdOf(m) == id) <= 1, $"{id} reached the other instance twice");
            Assert.Single(onB.OfType("payment:verified"), m => PaymentIdOf(m) == id);
        }

        Assert.All(onA.OfType("payment:verified"), m => Assert.True(PaymentIdOf(m) == warm || after.Contains(PaymentIdOf(m)) || ids.Contains(PaymentIdOf(m))));
    }

    private static string PaymentIdOf(System.Text.Json.JsonElement message) => message.GetProperty("data").GetProperty("paymentId").GetString()!;
}
