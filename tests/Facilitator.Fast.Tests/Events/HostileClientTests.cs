using System.Net;
using System.Net.WebSockets;
using System.Text;
using Facilitator.Fast.Events;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Facilitator.Fast.Tests.Events.EventStreamProtocolTests;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// What a hostile client can send: each bad message is answered with an <c>error</c> frame (code, message) and the
/// connection stays usable; past <c>MaxBadFrames</c> it is closed with 1008; nothing it sends raises an exception.
/// Connection limits refuse with 429 before the upgrade.
/// </summary>
public sealed class HostileClientTests
{
    private static async Task<string> ErrorCodeAfterAsync(EventStreamClient client, Func<Task> send)
    {
        var errors = client.OfType("error").Count;
        await send();
        var error = await client.NextAsync("error", index: errors);
        Assert.False(string.IsNullOrEmpty(error.GetProperty("data").GetProperty("message").GetString()));
        return error.GetProperty("data").GetProperty("code").GetString()!;
    }

    [Theory]
    [InlineData("", "invalid_message")]
    [InlineData("not json at all", "invalid_message")]
    [InlineData("[1,2,3]", "invalid_message")]
    [InlineData("""{"type":"subscribe","channels":["payments"]} trailing""", "invalid_message")]
    [InlineData("""{"type":"subscribe","type":"unsubscribe","channels":["payments"]}""", "invalid_message")]
    [InlineData("""{"type":"dance"}""", "unknown_type")]
    [InlineData("""{"channels":["payments"]}""", "unknown_type")]
    [InlineData("""{"type":{"nested":true}}""", "unknown_type")]
    [InlineData("""{"type":"subscribe","channels":["payments","gossip"]}""", "invalid_channel")]
    [InlineData("""{"type":"subscribe","channels":"payments"}""", "invalid_channel")]
    [InlineData("""{"type":"unsubscribe"}""", "invalid_channel")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":{"payee":"0x1234"}}""", "invalid_filter")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":{"network":"Not A Network"}}""", "invalid_filter")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":{"payTo":"0x1111111111111111111111111111111111111111"}}""", "invalid_filter")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":"eip155:8453"}""", "invalid_filter")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":{"network":{"deep":[[[[[[[[1]]]]]]]]}}}""", "invalid_message")]
    public async Task BadMessage_ErrorFrameWithItsCode_SubscriptionUnchanged_StillOpen(string message, string code)
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);

        Assert.Equal(code, await ErrorCodeAfterAsync(client, () => client.SendAsync(message)));
        await client.SendAsync("""{"type":"ping"}""");
        await client.NextAsync("pong");

        Assert.Equal(WebSocketState.Open, client.State);
        Assert.Empty(client.OfType("subscribed"));
        var subscriber = Assert.Single(gateway.Services.GetRequiredService<EventHub>().Subscribers());
        Assert.Equal(EventChannel.Payments, subscriber.State.Channels);
        Assert.Null(subscriber.State.Network);
        Assert.Null(subscriber.State.Payee);
    }

    [Fact]
    public async Task OversizedMessage_ErrorFrame_ThenTheNextMessageIsRead()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);
        var huge = """{"type":"subscribe","channels":["payments"],"pad":""" + "\"" + new string('x', 10_000) + "\"}";

        Assert.Equal("message_too_large", await ErrorCodeAfterAsync(client, () => client.SendAsync(huge)));
        await client.SendAsync("""{"type":"subscribe","channels":["stats"]}""");
        var subscribed = await client.NextAsync("subscribed");

        Assert.Equal(2, subscribed.GetProperty("data").GetProperty("channels").GetArrayLength());
    }

    [Fact]
    public async Task BinaryFrame_ErrorFrame()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);

        var code = await ErrorCodeAfterAsync(client, () => client.SendAsync("""{"type":"ping"}"""u8.ToArray(), WebSocketMessageType.Binary));

        Assert.Equal("binary_not_supported", code);
        Assert.Empty(client.OfType("pong"));
    }

    [Fact]
    public async Task PastMaxBadFrames_Closed1008()
    {
        var (gateway, upstream) = await StartAsync(s => s["Events:MaxBadFrames"] = "3");
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);

        for (var i = 0; i < 4; i++)
        {
            await client.SendAsync("nonsense");
        }

        await client.ClosedAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
        Assert.Equal(3, client.OfType("error").Count);
        await Eventually.TrueAsync(() => gateway.Services.GetRequiredService<EventHub>().Count == 0, "the connection is gone");
    }

    [Fact]
    public async Task Flood_TooManyMessagesASecond_RateLimitedErrors()
    {
        var (gateway, upstream) = await StartAsync(s => s["Events:MaxBadFrames"] = "1000");
        await using var _ = gateway;
        await using var __ = upstream;
        await using var client = await EventStreamClient.ConnectAsync(gateway);

        for (var i = 0; i < 60; i++)
        {
            await client.SendAsync("""{"type":"ping"}""");
        }

        await client.NextAsync("error", m => m.GetProperty("data").GetProperty("code").GetString() == "rate_limited");
        Assert.Equal(WebSocketState.Open, client.State);
    }

    [Fact]
    public async Task Garbage_HundredsOfRandomMessages_AnsweredNeverThrown()
    {
        var logs = new CapturedLogs();
        var upstream = await FakeFacilitator.StartAsync();
        await using var __ = upstream;
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Events:MaxBadFrames"] = "10000";
        await using var gateway = await GatewayHost.StartAsync(settings, logs: logs);
        await using var client = await EventStreamClient.ConnectAsync(gateway);
        var random = new Random(14);
        string[] pieces = ["{", "}", "[", "]", "\"type\"", ":", ",", "\"subscribe\"", "\"channels\"", "\"filter\"", "null", "1e999", "\"\\u0000\"", "\"payments\"", "-", "true", " ", "\"network\"", "\"payee\"", "{}"];

        for (var i = 0; i < 300; i++)
        {
            var text = new StringBuilder();
            for (var n = random.Next(1, 40); n > 0; n--)
            {
                text.Append(pieces[random.Next(pieces.Length)]);
            }

            await client.SendAsync(Encoding.UTF8.GetBytes(text.ToString()), i % 7 == 0 ? WebSocketMessageType.Binary : WebSocketMessageType.Text);
        }

        await Eventually.TrueAsync(async () =>
        {
            await client.SendAsync("""{"type":"ping"}""");
            return client.OfType("pong").Count > 0;
        }, "the connection still answers");

        Assert.Equal(WebSocketState.Open, client.State);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task PerClientLimit_OverIt_429BeforeTheUpgrade_FreedWhenOneLeaves()
    {
        var (gateway, upstream) = await StartAsync(s => s["Events:MaxConnectionsPerClient"] = "2");
        await using var _ = gateway;
        await using var __ = upstream;
        var first = await EventStreamClient.ConnectAsync(gateway);
        await using var second = await EventStreamClient.ConnectAsync(gateway);

        Assert.Equal(HttpStatusCode.TooManyRequests, await EventStreamClient.RefusalAsync(gateway));
        await first.DisposeAsync();
        await Eventually.TrueAsync(async () => await EventStreamClient.RefusalAsync(gateway) == HttpStatusCode.SwitchingProtocols, "a place is free again");
    }

    [Fact]
    public async Task InstanceLimit_OverIt_429InTheApiErrorShape()
    {
        var (gateway, upstream) = await StartAsync(s => s["Events:MaxConnections"] = "1");
        await using var _ = gateway;
        await using var __ = upstream;
        await using var only = await EventStreamClient.ConnectAsync(gateway);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ws");
        request.Headers.Connection.Add("Upgrade");
        request.Headers.Upgrade.Add(new("websocket"));
        request.Headers.Add("Sec-WebSocket-Version", "13");
        request.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(new byte[16]));

        using var refused = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var error = Responses.Json(await refused.Content.ReadAsStringAsync()).GetProperty("error");
        Assert.Equal("HTTP_429", error.GetProperty("code").GetString());
        Assert.Contains("Events:MaxConnections", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
