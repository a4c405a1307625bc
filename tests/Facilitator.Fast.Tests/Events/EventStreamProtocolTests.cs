using System.Net.WebSockets;
using System.Text.Json;
using Facilitator.Fast.Events;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Facilitator.Fast.Tests.Events;

/// <summary>The seed's protocol on a real socket: the welcome, (un)subscribing, ping, stats, idle clients, shutdown.</summary>
public sealed class EventStreamProtocolTests
{
    internal static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        configure?.Invoke(settings);
        return (await GatewayHost.StartAsync(settings), upstream);
    }

    [Fact]
    public async Task Connect_Default_WelcomeWithClientIdAndPaymentsChannel()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);

        var welcome = await client.NextAsync("connected");

        var data = welcome.GetProperty("data");
        Assert.True(Guid.TryParseExact(data.GetProperty("clientId").GetString(), "D", out var clientId) && clientId != Guid.Empty);
        Assert.Equal(["payments"], data.GetProperty("channels").EnumerateArray().Select(c => c.GetString()).ToArray());
        Assert.Equal(JsonValueKind.Number, welcome.GetProperty("timestamp").ValueKind);
        Assert.Equal(1, gateway.Services.GetRequiredService<EventHub>().Count);
    }

    [Fact]
    public async Task Subscribe_ThenUnsubscribe_EachConfirmedWithTheChannelsAndFilterNow()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);

        await client.SendAsync("""{"type":"subscribe","channels":["stats","errors"],"filter":{"network":"base-sepolia","payee":"0xAbC0000000000000000000000000000000000001"}}""");
        var subscribed = (await client.NextAsync("subscribed")).GetProperty("data");
        await client.SendAsync("""{"type":"unsubscribe","channels":["payments","stats"]}""");
        var unsubscribed = (await client.NextAsync("unsubscribed")).GetProperty("data");

        Assert.Equal(["payments", "stats", "errors"], subscribed.GetProperty("channels").EnumerateArray().Select(c => c.GetString()).ToArray());
        Assert.Equal("eip155:84532", subscribed.GetProperty("filter").GetProperty("network").GetString());
        Assert.Equal("0xabc0000000000000000000000000000000000001", subscribed.GetProperty("filter").GetProperty("payee").GetString());
        Assert.Equal(["errors"], unsubscribed.GetProperty("channels").EnumerateArray().Select(c => c.GetString()).ToArray());
        Assert.Equal("eip155:84532", unsubscribed.GetProperty("filter").GetProperty("network").GetString());
    }

    [Fact]
    public async Task Subscribe_EmptyFilter_ClearsTheFilter()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);

        await client.SendAsync("""{"type":"subscribe","channels":["payments"],"filter":{"network":"eip155:8453"}}""");
        await client.NextAsync("subscribed");
        await client.SendAsync("""{"type":"subscribe","channels":[],"filter":{}}""");
        var cleared = (await client.NextAsync("subscribed", index: 1)).GetProperty("data");

        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("filter").ValueKind);
    }

    [Fact]
    public async Task Ping_AnsweredWithPong()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);

        await client.SendAsync("""{"type":"ping"}""");

        await client.NextAsync("pong");
    }

    [Fact]
    public async Task Stats_EveryInterval_OnlyToStatsSubscribers()
    {
        var (gateway, upstream) = await StartAsync(s => s["Events:StatsIntervalMs"] = "200");
        await using var _ = gateway;
        await using var __ = upstream;
        await using var watcher = await EventStreamClient.ConnectAsync(gateway);
        await using var other = await EventStreamClient.ConnectAsync(gateway);
        await watcher.SendAsync("""{"type":"subscribe","channels":["stats"]}""");
        await other.SendAsync("""{"type":"subscribe","channels":["payments","errors"]}""");
        await other.NextAsync("subscribed");

        var first = (await watcher.NextAsync("stats:update")).GetProperty("data");
        await watcher.NextAsync("stats:update", index: 1);

        Assert.Equal(0, first.GetProperty("totalPaymentsProcessed").GetInt64());
        Assert.Equal("0", first.GetProperty("totalVolumeUsd").GetString());
        Assert.Equal(JsonValueKind.Object, first.GetProperty("networkStats").ValueKind);
        Assert.Equal(1, first.GetProperty("facilitators").GetProperty("total").GetInt32());
        Assert.Empty(other.OfType("stats:update"));
    }

    [Fact]
    public async Task NeverSubscribes_ClosedWith1008AfterTheSubscribeTimeout()
    {
        var (gateway, upstream) = await StartAsync(s => s["Events:SubscribeTimeoutMs"] = "300");
        await using var _ = gateway;
        await using var __ = upstream;
        await using var idle = await EventStreamClient.ConnectAsync(gateway);
        await using var active = await EventStreamClient.ConnectAsync(gateway);
        await active.SendAsync("""{"type":"subscribe","channels":["payments"]}""");

        await idle.ClosedAsync();

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, idle.CloseStatus);
        Assert.Equal(WebSocketState.Open, active.State);
    }

    [Fact]
    public async Task HostStops_EveryClientGetsClose1001()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var clients = new List<EventStreamClient>();
        for (var i = 0; i < 5; i++)
        {
            clients.Add(await EventStreamClient.ConnectAsync(gateway));
        }

        await Task.WhenAll(clients.Select(c => c.NextAsync("connected")));
        var stopping = gateway.StopAsync();
        foreach (var client in clients)
        {
            await client.ClosedAsync();
        }

        await stopping;
        Assert.All(clients, c => Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, c.CloseStatus));
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task StatusApi_EventsSection_SubscribersPublishedDelivered()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);
        await client.SendAsync("not json");
        await client.NextAsync("error");

        using (await gateway.PostAsync("/verify", SignedPayments.V2))
        {
        }

        await client.NextAsync("payment:verified");
        var events = Responses.Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=stats")).GetProperty("events");

        Assert.True(events.GetProperty("enabled").GetBoolean());
        Assert.Equal("/ws", events.GetProperty("path").GetString());
        Assert.False(events.GetProperty("sharedThroughRedis").GetBoolean());
        Assert.Equal(1, events.GetProperty("subscribers").GetInt32());
        Assert.Equal(2, events.GetProperty("eventsPublished").GetInt64());
        Assert.Equal(4, events.GetProperty("messagesDelivered").GetInt64());
        Assert.Equal(0, events.GetProperty("messagesDropped").GetInt64());
        Assert.Equal(0, events.GetProperty("laggedClients").GetInt64());
        Assert.Equal(1, events.GetProperty("badFrames").GetInt64());
    }

    [Fact]
    public async Task NotAWebSocket_426InTheApiErrorShape()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await gateway.Client.GetAsync("/ws");

        Assert.Equal(426, (int)response.StatusCode);
        var body = Responses.Json(await response.Content.ReadAsStringAsync());
        Assert.Equal("HTTP_426", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Disabled_NoEndpoint()
    {
        var (gateway, upstream) = await StartAsync(s => s["Events:Enabled"] = "false");
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(System.Net.HttpStatusCode.NotFound, await EventStreamClient.RefusalAsync(gateway));
    }
}
