using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Events;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// Review of the probe sent at the subscription (commit 5d5fff9): a raw client that controls when (and whether) it
/// answers the probe's ping, that can send its subscription (and a pong, and a close) in the same packet as the
/// upgrade, before it has read the 101, and that checks every byte it reads: the 101 first, whole frames, events in order.
/// </summary>
public sealed class ProbeAtSubscribeReviewTests
{
    private static readonly string Padding = new('p', 3000);

    private static readonly byte[] Subscribe = PongWatcherTests.ClientFrame(0x1, """{"type":"subscribe","channels":["errors"]}"""u8.ToArray());

    internal enum PongMode
    {
        Auto,
        Never,
        Held,
    }

    /// <summary>A WebSocket client over a plain socket that parses every byte the service sends.</summary>
    internal sealed class RawClient : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        private readonly List<(byte Opcode, byte[] Payload)> _frames = [];
        private readonly Queue<byte[]> _heldPings = new();
        private TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _paused;

        public volatile PongMode Mode;
        public volatile string? Error;
        public volatile bool HandshakeFirst;
        public volatile bool Ended;
        public long Pings;
        public int? CloseCode;

        public static async Task<RawClient> ConnectAsync(GatewayHost gateway, PongMode mode, params byte[][] withTheUpgrade)
        {
            var client = new RawClient { Mode = mode };
            var uri = gateway.Client.BaseAddress!;
            await client._socket.ConnectAsync(uri.Host, uri.Port);
            var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var bytes = new List<byte>(Encoding.ASCII.GetBytes(
                $"GET /ws HTTP/1.1\r\nHost: {uri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            foreach (var extra in withTheUpgrade)
            {
                bytes.AddRange(extra);
            }

            // One write: the subscription (and whatever else) goes out before a byte of the 101 has been read.
            await client._socket.SendAsync(bytes.ToArray(), SocketFlags.None);
            _ = client.ReadAsync();
            return client;
        }

        public void Pause() => _paused = true;

        public void Resume()
        {
            _paused = false;
            _resume.TrySetResult();
        }

        public Task SendAsync(byte[] bytes) => _socket.SendAsync(bytes, SocketFlags.None);

        /// <summary>Answers the pings held so far, in order.</summary>
        public async Task ReleasePongsAsync()
        {
            while (true)
            {
                byte[] payload;
                lock (_heldPings)
                {
                    if (!_heldPings.TryDequeue(out payload!))
                    {
                        return;
                    }
                }

                await _socket.SendAsync(PongWatcherTests.ClientFrame(0xA, payload), SocketFlags.None);
            }
        }

        public int HeldPings
        {
            get
            {
                lock (_heldPings)
                {
                    return _heldPings.Count;
                }
            }
        }

        public List<JsonElement> Texts()
        {
            lock (_frames)
            {
                return [.. _frames.Where(f => f.Opcode == 0x1).Select(f => JsonDocument.Parse(f.Payload).RootElement.Clone())];
            }
        }

        public List<long> Failures() =>
            [.. Texts().Where(t => t.GetProperty("type").GetString() == "facilitator:failures").Select(t => t.GetProperty("data").GetProperty("failures").GetInt64())];

        public bool Has(string type) => Texts().Any(t => t.GetProperty("type").GetString() == type);

        public void Dispose() => _socket.Dispose();

        private void Fail(string error) => Error ??= error;

        private async Task ReadAsync()
        {
            var buffer = new byte[1 << 20];
            var length = 0;
            var upgraded = false;
            try
            {
                while (true)
                {
                    if (_paused)
                    {
                        await _resume.Task;
                        _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    var read = await _socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None);
                    if (read == 0)
                    {
                        Ended = true;
                        return;
                    }

                    length += read;
                    var offset = 0;
                    if (!upgraded)
                    {
                        if (length < 12)
                        {
                            continue;
                        }

                        if (!buffer.AsSpan(0, 12).SequenceEqual("HTTP/1.1 101"u8))
                        {
                            Fail("the first bytes are not the 101: " + Encoding.ASCII.GetString(buffer, 0, Math.Min(length, 40)));
                            return;
                        }

                        var end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
                        if (end < 0)
                        {
                            continue;
                        }

                        HandshakeFirst = true;
                        upgraded = true;
                        offset = end + 4;
                    }

                    while (length - offset >= 2)
                    {
                        var first = buffer[offset];
                        var second = buffer[offset + 1];
                        if ((first & 0x70) != 0 || (first & 0x80) == 0 || (second & 0x80) != 0)
                        {
                            Fail($"a malformed frame header {first:x2} {second:x2}");
                            return;
                        }

                        long size = second & 0x7F;
                        var start = offset + 2;
                        if (size == 126)
                        {
                            if (length - offset < 4)
                            {
                                break;
                            }

                            size = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(offset + 2));
                            start = offset + 4;
                        }
                        else if (size == 127)
                        {
                            if (length - offset < 10)
                            {
                                break;
                            }

                            size = (long)BinaryPrimitives.ReadUInt64BigEndian(buffer.AsSpan(offset + 2));
                            start = offset + 10;
                        }

                        if (length - start < size)
                        {
                            break;
                        }

                        var opcode = (byte)(first & 0x0F);
                        var payload = buffer.AsSpan(start, (int)size).ToArray();
                        if (opcode == 0x1)
                        {
                            try
                            {
                                using var _ = JsonDocument.Parse(payload);
                            }
                            catch (JsonException)
                            {
                                Fail("a text frame that is not JSON: " + Encoding.UTF8.GetString(payload[..Math.Min(payload.Length, 60)]));
                                return;
                            }
                        }
                        else if (opcode is not (0x8 or 0x9 or 0xA))
                        {
                            Fail($"an unexpected opcode {opcode}");
                            return;
                        }

                        lock (_frames)
                        {
                            _frames.Add((opcode, payload));
                        }

                        if (opcode == 0x9)
                        {
                            Interlocked.Increment(ref Pings);
                            switch (Mode)
                            {
                                case PongMode.Auto:
                                    await _socket.SendAsync(PongWatcherTests.ClientFrame(0xA, payload), SocketFlags.None);
                                    break;
                                case PongMode.Held:
                                    lock (_heldPings)
                                    {
                                        _heldPings.Enqueue(payload);
                                    }

                                    break;
                            }
                        }
                        else if (opcode == 0x8)
                        {
                            CloseCode = payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : 0;
                        }

                        offset = start + (int)size;
                    }

                    buffer.AsSpan(offset, length - offset).CopyTo(buffer);
                    length -= offset;
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                Ended = true;
            }
        }
    }

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Edge:Limits:MaxConnectionsPerClient"] = "0";
        settings["Events:MaxConnectionsPerClient"] = "1000";
        configure?.Invoke(settings);
        return (await GatewayHost.StartAsync(settings), upstream);
    }

    private static void Publish(EventHub hub, long i, bool padded = false) =>
        hub.Publish(new ErrorEvent(ErrorEventKind.FacilitatorFailures, i, "upstream-" + i, count: i, error: padded ? Padding : null));

    /// <summary>Every event a client got: strictly increasing, and with no gap unless it was told (lagged).</summary>
    private static void AssertInOrder(RawClient client, bool gapsAllowed = false)
    {
        Assert.Null(client.Error);
        Assert.True(client.HandshakeFirst);
        var texts = client.Texts();
        Assert.Equal("connected", texts[0].GetProperty("type").GetString());
        var subscribed = texts.FindIndex(t => t.GetProperty("type").GetString() == "subscribed");
        var firstEvent = texts.FindIndex(t => t.GetProperty("type").GetString() == "facilitator:failures");
        Assert.True(subscribed > 0 && (firstEvent < 0 || subscribed < firstEvent), "the subscription's answer comes before its events");
        var failures = client.Failures();
        for (var i = 1; i < failures.Count; i++)
        {
            if (gapsAllowed)
            {
                Assert.True(failures[i] > failures[i - 1], $"event {failures[i]} after {failures[i - 1]}");
            }
            else
            {
                Assert.True(failures[i] == failures[i - 1] + 1, $"event {failures[i]} after {failures[i - 1]}");
            }
        }
    }

    /// <summary>Publishes a paced stream of events until told to stop; returns the last one published.</summary>
    private static async Task<long> PublishUntilAsync(EventHub hub, long from, CancellationToken stop, bool padded = false)
    {
        var i = from;
        while (!stop.IsCancellationRequested)
        {
            Publish(hub, i++, padded);
            if (i % 4 == 0)
            {
                await Task.Delay(1, CancellationToken.None);
            }
        }

        return i - 1;
    }

    [Fact]
    public async Task Stream_SubscribeSentWithTheUpgradeDuringAFanOut_101FirstThenEveryEventInOrder()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(() => PublishUntilAsync(hub, 0, stop.Token));
        var clients = new List<RawClient>();
        try
        {
            // Connections arrive (the subscription in the upgrade's own packet) while events are being fanned out, so
            // probes, subscription answers and events race in every order.
            for (var i = 0; i < 24; i++)
            {
                clients.Add(await RawClient.ConnectAsync(gateway, PongMode.Auto, Subscribe));
            }

            await Eventually.TrueAsync(() => clients.All(c => c.Failures().Count >= 200 || c.Error is not null), "every client got 200 events", 60_000);
        }
        finally
        {
            stop.Cancel();
        }

        var last = await publishing;
        await Eventually.TrueAsync(() => clients.All(c => c.Failures().LastOrDefault() == last || c.Error is not null), "every client got the last event", 30_000);
        foreach (var client in clients)
        {
            AssertInOrder(client);
            client.Dispose();
        }

        Assert.True(hub.Statistics.DirectConnections > 0, "some connections moved to their sockets during the fan-out");
    }

    [Fact]
    public async Task Stream_ClientNeverPongs_OneProbeAndEveryEventOnKestrelsPathInOrder()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        using var client = await RawClient.ConnectAsync(gateway, PongMode.Never, Subscribe);
        await Eventually.TrueAsync(() => Interlocked.Read(ref client.Pings) == 1, "the probe's ping after the subscription");

        for (var i = 0; i < 400; i++)
        {
            Publish(hub, i, padded: i % 5 == 0);
            if (i % 20 == 19)
            {
                var expected = i;
                await Eventually.TrueAsync(() => client.Failures().LastOrDefault(-1) == expected || client.Error is not null, $"event {expected}");
            }
        }

        AssertInOrder(client);
        Assert.Equal(400, client.Failures().Count);
        Assert.Equal(0, hub.Statistics.DirectConnections);
        Assert.Equal(1, Interlocked.Read(ref client.Pings)); // no probe per idle moment while the first is unanswered
    }

    [Fact]
    public async Task Stream_ClientPongsLateAfterEvents_LatePongMovesNothingAndEveryEventInOrder()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        using var client = await RawClient.ConnectAsync(gateway, PongMode.Held, Subscribe);
        await Eventually.TrueAsync(() => client.HeldPings == 1, "the probe's ping, held");

        // Events go through Kestrel while the probe is unanswered.
        for (var i = 0; i < 100; i++)
        {
            Publish(hub, i, padded: true);
        }

        await Eventually.TrueAsync(() => client.Failures().LastOrDefault(-1) == 99 || client.Error is not null, "the first hundred");

        // The late pong, then at once a burst: had the late pong stood for an empty pipe, the burst's direct writes
        // would race Kestrel's.
        client.Mode = PongMode.Auto;
        await client.ReleasePongsAsync();
        for (var sent = 100; sent < 1100; sent += 100)
        {
            for (var i = sent; i < sent + 100; i++)
            {
                Publish(hub, i, padded: i % 3 == 0);
            }

            var expected = sent + 99;
            await Eventually.TrueAsync(() => client.Failures().LastOrDefault(-1) == expected || client.Error is not null, $"event {expected}", 30_000);
        }

        // Later probes are answered at once: the connection moves, and still nothing is out of order.
        for (var i = 1100; hub.Statistics.DirectConnections < 1 && i < 1400; i++)
        {
            Publish(hub, i);
            var expected = i;
            await Eventually.TrueAsync(() => client.Failures().LastOrDefault(-1) == expected || client.Error is not null, $"event {expected}");
        }

        AssertInOrder(client);
        Assert.Equal(1, hub.Statistics.DirectConnections);
    }

    [Fact]
    public async Task Stream_ForgedPongsWithGuessedPayloads_ConnectionStaysOnKestrelsPath()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();

        static byte[] Pong(long payload)
        {
            var bytes = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(bytes, payload);
            return PongWatcherTests.ClientFrame(0xA, bytes);
        }

        // Pongs sent with the upgrade, before any ping: the payloads a guesser would try (0, 1, the WebSocket's own
        // keep-alive counter's first values, all ones).
        using var client = await RawClient.ConnectAsync(gateway, PongMode.Held, Subscribe, Pong(0), Pong(1), Pong(2), Pong(-1), Pong(long.MaxValue));
        await Eventually.TrueAsync(() => client.HeldPings == 1, "the probe's ping, held");

        // And a pong for the real ping off by one.
        await client.SendAsync(Pong(0));
        for (var i = 0; i < 200; i++)
        {
            Publish(hub, i, padded: i % 4 == 0);
        }

        await Eventually.TrueAsync(() => client.Failures().LastOrDefault(-1) == 199 || client.Error is not null, "every event");
        AssertInOrder(client);
        Assert.Equal(0, hub.Statistics.DirectConnections);
    }

    [Fact]
    public async Task Stream_SubscribeThenCloseInTheSamePacket_CloseEchoedAndNothingLeftBehind()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        var closeFrame = PongWatcherTests.ClientFrame(0x8, [0x03, 0xE8]);
        var clients = new List<RawClient>();
        for (var i = 0; i < 30; i++)
        {
            clients.Add(await RawClient.ConnectAsync(gateway, i % 2 == 0 ? PongMode.Auto : PongMode.Never, Subscribe, closeFrame));
        }

        await Eventually.TrueAsync(() => clients.All(c => c.Ended || c.Error is not null), "every connection ends", 30_000);
        await Eventually.TrueAsync(() => hub.Count == 0, "the hub holds no connection", 30_000);
        foreach (var client in clients)
        {
            Assert.Null(client.Error);
            Assert.True(client.HandshakeFirst);
            Assert.Equal(1000, client.CloseCode);
            client.Dispose();
        }
    }

    [Fact]
    public async Task Stream_SubscribeThenDisconnectAtOnce_HubForgetsEveryConnection()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        for (var i = 0; i < 30; i++)
        {
            // Gone (no close frame) while the probe is being written.
            var client = await RawClient.ConnectAsync(gateway, PongMode.Never, Subscribe);
            if (i % 2 == 0)
            {
                var observed = client;
                await Eventually.TrueAsync(() => Interlocked.Read(ref observed.Pings) == 1 || observed.Error is not null, "the probe");
            }

            client.Dispose();
        }

        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(() => PublishUntilAsync(hub, 0, stop.Token, padded: true));
        try
        {
            await Eventually.TrueAsync(() => hub.Count == 0, "the hub holds no connection", 30_000);
        }
        finally
        {
            stop.Cancel();
            await publishing;
        }
    }

    [Fact]
    public async Task HostStops_ProbeUnansweredAndLateClient_BothGetClose1001AfterTheirEvents()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        using var never = await RawClient.ConnectAsync(gateway, PongMode.Never, Subscribe);
        using var held = await RawClient.ConnectAsync(gateway, PongMode.Held, Subscribe);
        await Eventually.TrueAsync(() => Interlocked.Read(ref never.Pings) == 1 && held.HeldPings == 1, "both probes out");
        for (var i = 0; i < 20; i++)
        {
            Publish(hub, i);
        }

        await Eventually.TrueAsync(() => never.Failures().Count == 20 && held.Failures().Count == 20, "both got the events");
        await gateway.StopAsync();

        await Eventually.TrueAsync(() => never.CloseCode is not null && held.CloseCode is not null, "both got a close");
        Assert.Equal(1001, never.CloseCode);
        Assert.Equal(1001, held.CloseCode);
        AssertInOrder(never);
        AssertInOrder(held);
    }

    [Fact]
    public async Task Stream_ProbeUnansweredClientStopsReadingUnderClose_CutOffWhileAnotherGetsEverything()
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
        using var reader = await RawClient.ConnectAsync(gateway, PongMode.Auto, Subscribe);
        using var stalled = await RawClient.ConnectAsync(gateway, PongMode.Never, Subscribe);
        await Eventually.TrueAsync(() => Interlocked.Read(ref stalled.Pings) == 1 && reader.Has("subscribed"), "both subscribed, the stalled one's probe out");
        stalled.Pause();

        const int events = 3000;
        for (var sent = 0; sent < events; sent += 50)
        {
            for (var i = sent; i < sent + 50; i++)
            {
                Publish(hub, i, padded: true);
            }

            var expected = sent + 49;
            await Eventually.TrueAsync(() => reader.Failures().LastOrDefault(-1) == expected || reader.Error is not null, $"event {expected}", 30_000);
        }

        await Eventually.TrueAsync(() => hub.Count == 1, "the client that stopped reading is cut off", 30_000);
        Assert.Equal(1, hub.Statistics.SlowClosed);
        AssertInOrder(reader);
        Assert.Equal(events, reader.Failures().Count);
    }

    [Fact]
    public async Task Stream_ProbeUnansweredClientPausesUnderDropOldest_LaggedNoticeThenOrderAfterResuming()
    {
        var (gateway, upstream) = await StartAsync(s =>
        {
            s["Events:ClientQueueCapacity"] = "32";
            s["Events:SlowConsumerPolicy"] = "DropOldest";
            s["Events:SendTimeoutMs"] = "30000";
        });
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        using var client = await RawClient.ConnectAsync(gateway, PongMode.Held, Subscribe);
        await Eventually.TrueAsync(() => client.HeldPings == 1, "the probe's ping, held");
        client.Pause();
        for (var i = 0; i < 1500; i++)
        {
            Publish(hub, i, padded: true);
        }

        await Eventually.TrueAsync(() => hub.Statistics.Dropped > 0, "events dropped for the paused client");
        client.Mode = PongMode.Auto;
        client.Resume();
        await client.ReleasePongsAsync();
        Publish(hub, 5000);
        await Eventually.TrueAsync(() => client.Failures().LastOrDefault(-1) == 5000 || client.Error is not null, "the event after the gap", 30_000);

        AssertInOrder(client, gapsAllowed: true);
        Assert.True(client.Has("lagged"));
    }

    [Fact]
    public async Task Stream_SubscribeUnsubscribeResubscribeDuringAFanOut_EventsOnlyWhileSubscribedInOrderProbesBounded()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        var unsubscribe = PongWatcherTests.ClientFrame(0x1, """{"type":"unsubscribe","channels":["errors"]}"""u8.ToArray());
        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(() => PublishUntilAsync(hub, 0, stop.Token));
        RawClient client;
        try
        {
            // Eight subscribe/unsubscribe pairs then a last subscribe, in the upgrade's packet (17 messages: under the
            // 20 a second a client may send), while events are fanned out.
            var frames = new List<byte[]> { Subscribe };
            for (var i = 0; i < 8; i++)
            {
                frames.Add(unsubscribe);
                frames.Add(Subscribe);
            }

            client = await RawClient.ConnectAsync(gateway, PongMode.Auto, [.. frames]);
            await Eventually.TrueAsync(() => client.Texts().Count(t => t.GetProperty("type").GetString() is "subscribed" or "unsubscribed") == 17 || client.Error is not null, "every answer");
            await Eventually.TrueAsync(() => client.Failures().Count >= 100 || client.Error is not null, "events after the last subscription", 30_000);
        }
        finally
        {
            stop.Cancel();
        }

        var last = await publishing;
        await Eventually.TrueAsync(() => client.Failures().LastOrDefault(-1) == last || client.Error is not null, "the last event");
        using var ___ = client;
        Assert.Null(client.Error);
        Assert.DoesNotContain(client.Texts(), t => t.GetProperty("type").GetString() is "error" or "lagged");

        // Between an unsubscribed answer and the next subscribed one, no event; the events are in order (gaps only
        // where the client was unsubscribed).
        var subscribed = false;
        long previous = -1;
        foreach (var text in client.Texts())
        {
            switch (text.GetProperty("type").GetString())
            {
                case "subscribed":
                    subscribed = true;
                    break;
                case "unsubscribed":
                    subscribed = false;
                    break;
                case "facilitator:failures":
                    Assert.True(subscribed, "an event while unsubscribed");
                    var n = text.GetProperty("data").GetProperty("failures").GetInt64();
                    Assert.True(n > previous, $"event {n} after {previous}");
                    previous = n;
                    break;
            }
        }

        Assert.InRange(Interlocked.Read(ref client.Pings), 1, CoalescingStream.MaxProbes);
    }
}
