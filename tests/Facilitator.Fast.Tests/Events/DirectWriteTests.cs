using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Events;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Events.EventStreamProtocolTests;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// The real service moving a connection's writes from Kestrel's pipe to its socket (<c>Events:DirectWrites</c>): only
/// after the client answered a ping, with every event still arriving in order, and a client that then stops reading is
/// cut off as on Kestrel's path.
/// </summary>
public sealed class DirectWriteTests
{
    private static readonly string Padding = new('x', 4000);

    /// <summary>A subscriber over a plain socket with a small receive buffer that answers pings while it reads and can stop reading.</summary>
    private sealed class PausableClient : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 2048 };
        private volatile bool _paused;
        private bool _subscribe = true;

        public long Texts;

        public long Pings;

        public static async Task<PausableClient> ConnectAsync(GatewayHost gateway, bool subscribe = true)
        {
            var client = new PausableClient { _subscribe = subscribe };
            var uri = gateway.Client.BaseAddress!;
            await client._socket.ConnectAsync(uri.Host, uri.Port);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            await client._socket.SendAsync(Encoding.ASCII.GetBytes(
                $"GET /ws HTTP/1.1\r\nHost: {uri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            _ = client.ReadAsync();
            return client;
        }

        public void Pause() => _paused = true;

        public void Dispose() => _socket.Dispose();

        private async Task ReadAsync()
        {
            var buffer = new byte[1 << 20];
            var length = 0;
            var upgraded = false;
            try
            {
                while (!_paused)
                {
                    var read = await _socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                    var offset = 0;
                    if (!upgraded)
                    {
                        var end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
                        if (end < 0)
                        {
                            continue;
                        }

                        upgraded = true;
                        offset = end + 4;
                        if (_subscribe)
                        {
                            await _socket.SendAsync(PongWatcherTests.ClientFrame(0x1, """{"type":"subscribe","channels":["errors"]}"""u8.ToArray()), SocketFlags.None);
                        }
                    }

                    while (length - offset >= 2)
                    {
                        var size = buffer[offset + 1] & 0x7F;
                        var start = offset + 2;
                        if (size == 126)
                        {
                            if (length - offset < 4)
                            {
                                break;
                            }

                            size = (buffer[offset + 2] << 8) | buffer[offset + 3];
                            start = offset + 4;
                        }

                        if (length - start < size)
                        {
                            break;
                        }

                        if (buffer[offset] == 0x89)
                        {
                            Interlocked.Increment(ref Pings);
                            await _socket.SendAsync(PongWatcherTests.ClientFrame(0xA, buffer.AsSpan(start, size).ToArray()), SocketFlags.None);
                        }
                        else if (buffer[offset] == 0x81)
                        {
                            Interlocked.Increment(ref Texts);
                        }

                        offset = start + size;
                    }

                    buffer.AsSpan(offset, length - offset).CopyTo(buffer);
                    length -= offset;
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private static async Task MakeDirectAsync(EventHub hub, long connections, int from = 1_000_000)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        for (var i = from; hub.Statistics.DirectConnections < connections; i++)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {hub.Statistics.DirectConnections} of {connections} connections moved to their sockets");
            hub.Publish(new ErrorEvent(ErrorEventKind.FacilitatorFailures, i, "warm-up", count: i));
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Stream_ClientAnswersPings_WritesMoveToTheSocketAndEveryEventArrivesInOrder()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        await using var client = await EventStreamClient.ConnectAsync(gateway);
        await client.SendAsync("""{"type":"subscribe","channels":["errors"]}""");
        await Eventually.TrueAsync(() => hub.Subscribers().Any(s => (s.State.Channels & EventChannel.Errors) != 0), "the client is subscribed");

        await MakeDirectAsync(hub, 1);
        for (var sent = 0; sent < 2000; sent += 50)
        {
            for (var i = sent; i < sent + 50; i++)
            {
                hub.Publish(new ErrorEvent(ErrorEventKind.FacilitatorFailures, i, "upstream-" + i, count: i, error: i % 7 == 0 ? Padding : null));
            }

            await client.NextAsync("facilitator:failures", m => m.GetProperty("data").GetProperty("failures").GetInt64() == sent + 49, timeoutMs: 30_000);
        }

        Assert.Empty(client.OfType("lagged"));
        var received = client.OfType("facilitator:failures").Select(m => m.GetProperty("data").GetProperty("failures").GetInt64()).Where(n => n < 1_000_000).ToArray();
        Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), received);
        Assert.Equal(1, hub.Statistics.DirectConnections);
    }

    [Fact]
    public async Task Stream_Subscribed_ProvedEmptyBeforeItsFirstEventWhileOneThatNeverSubscribesIsNotPinged()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        using var silent = await PausableClient.ConnectAsync(gateway, subscribe: false);
        using var subscribed = await PausableClient.ConnectAsync(gateway);
        await Eventually.TrueAsync(() => hub.Subscribers().Count() == 2 && hub.Subscribers().Any(s => s.HasSubscribed), "both connected, one subscribed");

        // No event published: the subscription alone starts the proof that Kestrel's pipe is empty (a ping), so the
        // first fan-outs do not carry the probes of every new subscriber.
        await Eventually.TrueAsync(() => Interlocked.Read(ref subscribed.Pings) == 1, "the subscribed connection was pinged before any event");
        Assert.Equal(0, Interlocked.Read(ref silent.Pings));

        await MakeDirectAsync(hub, 1);
        Assert.Equal(1, hub.Statistics.DirectConnections);
        Assert.Equal(0, Interlocked.Read(ref silent.Pings));
        Assert.Equal(1, Interlocked.Read(ref silent.Texts)); // the welcome only
    }

    [Fact]
    public async Task Stream_DirectWritesOff_EveryWriteStaysOnKestrelsPath()
    {
        var (gateway, upstream) = await StartAsync(s => s["Events:DirectWrites"] = "false");
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        await using var client = await EventStreamClient.ConnectAsync(gateway);
        await client.SendAsync("""{"type":"subscribe","channels":["errors"]}""");
        await Eventually.TrueAsync(() => hub.Subscribers().Any(s => (s.State.Channels & EventChannel.Errors) != 0), "the client is subscribed");

        for (var i = 0; i < 50; i++)
        {
            hub.Publish(new ErrorEvent(ErrorEventKind.FacilitatorFailures, i, "upstream", count: i));
            await Task.Delay(10);
        }

        await client.NextAsync("facilitator:failures", index: 49);
        Assert.Equal(0, hub.Statistics.DirectConnections);
    }

    [Fact]
    public async Task Stream_DirectClientStopsReading_CutOffWhileTheOthersGetEverything()
    {
        var (gateway, upstream) = await StartAsync(s =>
        {
            s["Events:ClientQueueCapacity"] = "64";
            s["Events:SlowConsumerPolicy"] = "Close";
            s["Events:SendTimeoutMs"] = "1000";
        });
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        await using var reader = await EventStreamClient.ConnectAsync(gateway);
        await reader.SendAsync("""{"type":"subscribe","channels":["errors"]}""");
        using var stalled = await PausableClient.ConnectAsync(gateway);
        await Eventually.TrueAsync(() => hub.Subscribers().Count(s => (s.State.Channels & EventChannel.Errors) != 0) == 2, "both are subscribed");
        await MakeDirectAsync(hub, 2);
        stalled.Pause();

        const int events = 4000;
        for (var sent = 0; sent < events; sent += 50)
        {
            for (var i = sent; i < sent + 50; i++)
            {
                hub.Publish(new ErrorEvent(ErrorEventKind.FacilitatorFailures, i, "upstream-" + i, count: i, error: Padding));
            }

            await reader.NextAsync("facilitator:failures", m => m.GetProperty("data").GetProperty("failures").GetInt64() == sent + 49, timeoutMs: 30_000);
        }

        await Eventually.TrueAsync(() => hub.Count == 1, "the client that stopped reading is cut off", 30_000);
        Assert.Equal(1, hub.Statistics.SlowClosed);
        Assert.Equal(events, reader.OfType("facilitator:failures").Count(m => m.GetProperty("data").GetProperty("failures").GetInt64() < 1_000_000));
        Assert.True(Interlocked.Read(ref stalled.Texts) < events);
    }
}
