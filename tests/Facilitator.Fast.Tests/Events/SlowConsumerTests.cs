using System.Net.WebSockets;
using Facilitator.Fast.Events;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Events.EventStreamProtocolTests;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// A subscriber that stops reading never slows the others and never holds more than its queue: it loses the oldest
/// events and is told how many once it catches up (<c>DropOldest</c>), or it is closed (<c>Close</c>). Thousands of
/// events go through the real hub and real sockets; the stalled client's socket has a small receive buffer, so the
/// server's sends to it stall early.
/// </summary>
public sealed class SlowConsumerTests
{
    private const int Capacity = 64;
    private const int Batch = 50;
    private const int Events = 4000;

    /// <summary>Publishes <see cref="Events"/> error events in batches the reading client keeps up with, checking the stalled queue each time.</summary>
    private static async Task<int> PublishAsync(EventHub hub, EventStreamClient reader, Subscriber? stalled)
    {
        var largestQueue = 0;
        var padding = new string('x', 1000);
        for (var sent = 0; sent < Events; sent += Batch)
        {
            for (var i = sent; i < sent + Batch; i++)
            {
                hub.Publish(new ErrorEvent(ErrorEventKind.FacilitatorFailures, i, "upstream-" + i, count: i, error: padding));
            }

            await reader.NextAsync("facilitator:failures", index: sent + Batch - 1);
            largestQueue = Math.Max(largestQueue, stalled?.Queued ?? 0);
        }

        return largestQueue;
    }

    private static async Task<(EventStreamClient Client, Subscriber Subscriber)> ErrorsSubscriberAsync(GatewayHost gateway, bool read)
    {
        var hub = gateway.Services.GetRequiredService<EventHub>();
        var before = hub.Subscribers().ToHashSet();
        var client = await EventStreamClient.ConnectAsync(gateway, read: read);
        await client.SendAsync("""{"type":"subscribe","channels":["errors"]}""");
        Subscriber? subscriber = null;
        await Eventually.TrueAsync(
            () => (subscriber = hub.Subscribers().FirstOrDefault(s => !before.Contains(s) && (s.State.Channels & EventChannel.Errors) != 0)) is not null,
            "the client is subscribed to errors");
        return (client, subscriber!);
    }

    [Fact]
    public async Task StalledClient_DropOldest_QueueBounded_OthersGetEverything_ThenLaggedWithTheCount()
    {
        var (gateway, upstream) = await StartAsync(s =>
        {
            s["Events:ClientQueueCapacity"] = Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture);
            s["Events:SendTimeoutMs"] = "600000";
        });
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        var (reader, _) = await ErrorsSubscriberAsync(gateway, read: true);
        await using var ___ = reader;
        var (stalled, stalledSubscriber) = await ErrorsSubscriberAsync(gateway, read: false);
        await using var ____ = stalled;

        var largestQueue = await PublishAsync(hub, reader, stalledSubscriber);

        var received = reader.OfType("facilitator:failures");
        Assert.Equal(Events, received.Count);
        Assert.Equal(Enumerable.Range(0, Events), received.Select(m => (int)m.GetProperty("data").GetProperty("failures").GetInt64()));
        Assert.Empty(reader.OfType("lagged"));
        Assert.InRange(largestQueue, 1, Capacity);
        Assert.True(hub.Statistics.Dropped > 0);
        Assert.Equal(1, hub.Statistics.LaggedClients);
        Assert.Equal(0, hub.Statistics.PublishDropped);

        stalled.StartReading();
        await Eventually.TrueAsync(
            () => stalled.OfType("facilitator:failures").Count + stalled.OfType("lagged").Sum(m => m.GetProperty("data").GetProperty("dropped").GetInt64()) == Events,
            "every event is either delivered or counted in a lagged notice");
        Assert.NotEmpty(stalled.OfType("lagged"));
        Assert.Equal(hub.Statistics.Dropped, stalled.OfType("lagged").Sum(m => m.GetProperty("data").GetProperty("dropped").GetInt64()));
    }

    [Fact]
    public async Task StalledClient_ClosePolicy_CutOff_OthersGetEverything()
    {
        var (gateway, upstream) = await StartAsync(s =>
        {
            s["Events:ClientQueueCapacity"] = Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture);
            s["Events:SlowConsumerPolicy"] = "Close";
            s["Events:SendTimeoutMs"] = "1000";
        });
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        var (reader, _) = await ErrorsSubscriberAsync(gateway, read: true);
        await using var ___ = reader;
        var (stalled, stalledSubscriber) = await ErrorsSubscriberAsync(gateway, read: false);
        await using var ____ = stalled;

        var largestQueue = await PublishAsync(hub, reader, stalledSubscriber);
        await Eventually.TrueAsync(() => hub.Count == 1, "the stalled client is cut off");

        Assert.Equal(Events, reader.OfType("facilitator:failures").Count);
        Assert.InRange(largestQueue, 0, Capacity);
        Assert.Equal(1, hub.Statistics.SlowClosed);
        Assert.Equal(CloseRequest.TryAgainLater, stalledSubscriber.Closing!.Status);
        Assert.Equal(0, stalledSubscriber.Queued);
        Assert.Equal(WebSocketState.Open, reader.State);
    }
}
