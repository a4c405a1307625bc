using Facilitator.Fast.Events;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Events;

/// <summary>Two instances sharing a real <c>redis-server</c>: an event of either reaches the subscribers of both, once each.</summary>
public sealed class SharedEventTests
{
    private static string PaymentIdOf(System.Text.Json.JsonElement message) => message.GetProperty("data").GetProperty("paymentId").GetString()!;

    private static int CountOf(EventStreamClient client, string type, string paymentId) =>
        client.OfType(type).Count(m => PaymentIdOf(m) == paymentId);

    [Fact]
    public async Task TwoInstances_EventsOfEither_ReachSubscribersOfBoth_ExactlyOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        await using var onA = await EventStreamClient.ConnectAsync(a);
        await using var onB = await EventStreamClient.ConnectAsync(b);
        await onA.NextAsync("connected");
        await onB.NextAsync("connected");

        // Published on B: delivered on B locally and on A through Redis; B skips its own copy from Redis.
        using (await b.PostAsync("/verify", Payment(701, 1)))
        {
        }

        var fromB = PaymentIdOf(await onA.NextAsync("payment:verified"));
        using (await a.PostAsync("/verify", Payment(701, 2)))
        {
        }

        var fromA = PaymentIdOf(await onB.NextAsync("payment:verified", m => PaymentIdOf(m) != fromB));
        await onA.NextAsync("payment:verified", m => PaymentIdOf(m) == fromA);

        foreach (var client in new[] { onA, onB })
        {
            foreach (var id in new[] { fromA, fromB })
            {
                Assert.Equal(1, CountOf(client, "payment:received", id));
                Assert.Equal(1, CountOf(client, "payment:verified", id));
            }
        }

        var channels = await redis.CommandAsync("PUBSUB", "CHANNELS", settings["Redis:KeyPrefix"] + "events");
        Assert.Contains(settings["Redis:KeyPrefix"] + "events", channels, StringComparison.Ordinal);
        Assert.True(a.Services.GetRequiredService<EventHub>().Statistics.ReceivedFromOthers >= 2);
    }

    [Fact]
    public async Task SettledOnAnotherInstance_OneSettledEventEverywhere()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        await using var onA = await EventStreamClient.ConnectAsync(a);
        await onA.NextAsync("connected");
        var payment = Payment(702, 1);

        using (await b.PostAsync("/settle", payment))
        using (await a.PostAsync("/settle", payment))
        {
        }

        var settled = await onA.NextAsync("payment:settled");
        await onA.NextAsync("payment:received", index: 1);
        using (await b.PostAsync("/verify", Payment(702, 2)))
        {
        }

        await onA.NextAsync("payment:verified");
        Assert.Single(onA.OfType("payment:settled"));
        Assert.Equal("0xfeed", settled.GetProperty("data").GetProperty("transaction").GetString());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task RedisGone_LocalSubscribersStillGetEverything_TheFallbackCounted()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var onA = await EventStreamClient.ConnectAsync(a);
        await onA.NextAsync("connected");
        await onA.SendAsync("""{"type":"subscribe","channels":["payments","errors"]}""");
        await onA.NextAsync("subscribed");
        await redis.StopAsync();

        using (await a.PostAsync("/verify", Payment(703, 1)))
        {
        }

        await onA.NextAsync("payment:verified");
        var hub = a.Services.GetRequiredService<EventHub>();
        await Eventually.TrueAsync(() => hub.Statistics.RelayFailures > 0 || onA.OfType("redis:fallback").Count > 0, "the events that did not reach Redis are counted");
        await onA.NextAsync("redis:fallback");
        Assert.Single(onA.OfType("payment:received"));
    }
}
