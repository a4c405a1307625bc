using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Facilitator.Fast.Events;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// Zero-byte reads go straight to the inner stream, unwatched: they consume nothing, so the pong watch still sees every
/// byte the client sent — a pong split across reads with zero-byte reads between is counted once, one that is only
/// waiting in the socket is not counted before it is read, and nothing but the current probe's pong, with nothing
/// written through Kestrel since its ping, moves the writes to the socket. Real loopback sockets; Kestrel's pipe is a
/// stream writing straight to the same socket.
/// </summary>
public sealed class ZeroByteReadReviewTests
{
    private sealed class Pair : IAsyncDisposable
    {
        private Pair(Socket server, Socket client)
        {
            Server = server;
            Client = client;
            Stream = new CoalescingStream(new NetworkStream(server, ownsSocket: false), server);
        }

        public Socket Server { get; }

        public Socket Client { get; }

        public CoalescingStream Stream { get; }

        public static async Task<Pair> ConnectAsync()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            var accept = listener.AcceptSocketAsync();
            await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
            var server = await accept;
            server.NoDelay = true;
            return new Pair(server, client);
        }

        /// <summary>Probes and returns the payload of the ping as the client reads it.</summary>
        public async Task<long> ProbeAsync()
        {
            await Stream.ProbeAsync();
            var bytes = await ReceiveAsync(10);
            Assert.Equal(0x89, bytes[0]);
            Assert.Equal(8, bytes[1]);
            return BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(2));
        }

        public async Task<byte[]> ReceiveAsync(int count)
        {
            var bytes = new byte[count];
            var read = 0;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (read < count)
            {
                var n = await Client.ReceiveAsync(bytes.AsMemory(read), SocketFlags.None, timeout.Token);
                Assert.NotEqual(0, n);
                read += n;
            }

            return bytes;
        }

        /// <summary>Reads <paramref name="count"/> bytes through the stream in pieces of at most <paramref name="piece"/>, a zero-byte read before each.</summary>
        public async Task ReadInPiecesAsync(int count, int piece)
        {
            var buffer = new byte[piece];
            var read = 0;
            while (read < count)
            {
                Assert.Equal(0, await Stream.ReadAsync(Memory<byte>.Empty));
                var n = await Stream.ReadAsync(buffer.AsMemory(0, Math.Min(piece, count - read)));
                Assert.NotEqual(0, n);
                read += n;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Stream.DisposeAsync();
            Client.Dispose();
            Server.Dispose();
        }
    }

    private static byte[] Text(string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        return [0x81, (byte)bytes.Length, .. bytes];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public async Task ReadAsync_PongSplitAcrossReadsWithZeroByteReadsBetween_CountedOnceAndTheNextWriteGoesDirectInOrder(int piece)
    {
        await using var pair = await Pair.ConnectAsync();
        await pair.Stream.WriteAsync(Text("m0"));
        Assert.Equal(Text("m0"), await pair.ReceiveAsync(4));
        var payload = await pair.ProbeAsync();

        // A 200-byte text frame (a 16-bit length, split too) before the pong.
        byte[] frames = [.. PongWatcherTests.ClientFrame(0x1, Encoding.ASCII.GetBytes(new string('t', 200))), .. PongWatcherTests.Pong(payload)];
        await pair.Client.SendAsync(frames, SocketFlags.None);
        await pair.ReadInPiecesAsync(frames.Length, piece);

        Assert.Equal(1, pair.Stream.PongsSeen);
        Assert.False(pair.Stream.IsDirect);
        await pair.Stream.WriteAsync(Text("m1"));
        Assert.True(pair.Stream.IsDirect);
        Assert.Equal(Text("m1"), await pair.ReceiveAsync(4));

        // Once direct, reads (empty or not) pass through and a pong changes nothing.
        await pair.Client.SendAsync(PongWatcherTests.Pong(payload), SocketFlags.None);
        await pair.ReadInPiecesAsync(14, piece);
        Assert.Equal(1, pair.Stream.PongsSeen);
        await pair.Stream.WriteAsync(Text("m2"));
        Assert.Equal(Text("m2"), await pair.ReceiveAsync(4));
    }

    [Fact]
    public async Task ReadAsync_ZeroByteReadWaitingWhenThePongArrives_NotCountedUntilItsBytesAreRead()
    {
        await using var pair = await Pair.ConnectAsync();
        var payload = await pair.ProbeAsync();

        var waiting = pair.Stream.ReadAsync(Memory<byte>.Empty);
        Assert.False(waiting.IsCompleted);
        var pong = PongWatcherTests.Pong(payload);
        await pair.Client.SendAsync(pong, SocketFlags.None);
        Assert.Equal(0, await waiting);
        Assert.Equal(0, pair.Stream.PongsSeen);

        await pair.ReadInPiecesAsync(pong.Length, 64);
        Assert.Equal(1, pair.Stream.PongsSeen);
        await pair.Stream.WriteAsync(Text("m0"));
        Assert.True(pair.Stream.IsDirect);
        Assert.Equal(Text("m0"), await pair.ReceiveAsync(4));
    }

    /// <summary>
    /// A client cannot switch the stream early around zero-byte reads: the probe's pong carried inside a text frame is
    /// not a pong, a pong with another payload does not answer the probe, and the right pong after a write through
    /// Kestrel proves nothing about that write; only the next probe's pong does.
    /// </summary>
    [Fact]
    public async Task ReadAsync_PongInsideATextFrameOrWrongPayloadOrAfterAKestrelWrite_NoSwitchUntilTheNextProbesPong()
    {
        await using var pair = await Pair.ConnectAsync();
        var payload = await pair.ProbeAsync();

        byte[] decoys = [.. PongWatcherTests.ClientFrame(0x1, PongWatcherTests.Pong(payload)), .. PongWatcherTests.Pong(payload ^ 1)];
        await pair.Client.SendAsync(decoys, SocketFlags.None);
        await pair.ReadInPiecesAsync(decoys.Length, 2);
        Assert.Equal(1, pair.Stream.PongsSeen);
        await pair.Stream.WriteAsync(Text("m0"));
        Assert.False(pair.Stream.IsDirect);
        Assert.Equal(Text("m0"), await pair.ReceiveAsync(4));

        await pair.Client.SendAsync(PongWatcherTests.Pong(payload), SocketFlags.None);
        await pair.ReadInPiecesAsync(14, 5);
        Assert.Equal(2, pair.Stream.PongsSeen);
        await pair.Stream.WriteAsync(Text("m1"));
        Assert.False(pair.Stream.IsDirect);
        Assert.Equal(Text("m1"), await pair.ReceiveAsync(4));

        var next = await pair.ProbeAsync();
        Assert.NotEqual(payload, next);
        await pair.Client.SendAsync(PongWatcherTests.Pong(next), SocketFlags.None);
        await pair.ReadInPiecesAsync(14, 1);
        await pair.Stream.WriteAsync(Text("m2"));
        Assert.True(pair.Stream.IsDirect);
        Assert.Equal(Text("m2"), await pair.ReceiveAsync(4));
    }

    [Fact]
    public async Task Read_SynchronousPiecesWithZeroByteReadsBetween_WatchedLikeTheAsynchronousOnes()
    {
        await using var pair = await Pair.ConnectAsync();
        var payload = await pair.ProbeAsync();
        byte[] frames = [.. PongWatcherTests.ClientFrame(0x9, [1, 2, 3]), .. PongWatcherTests.Pong(payload)];
        await pair.Client.SendAsync(frames, SocketFlags.None);

        var buffer = new byte[2];
        var read = 0;
        while (read < frames.Length)
        {
            // Only while bytes are still to come: a zero-byte read waits for data.
            Assert.Equal(0, await pair.Stream.ReadAsync(Array.Empty<byte>(), 0, 0));
            Assert.Equal(0, pair.Stream.Read(buffer, 0, 0));
            read += pair.Stream.Read(buffer, 0, Math.Min(2, frames.Length - read));
        }

        Assert.Equal(1, pair.Stream.PongsSeen);
        await pair.Stream.WriteAsync(Text("m0"));
        Assert.True(pair.Stream.IsDirect);
        Assert.Equal(Text("m0"), await pair.ReceiveAsync(4));
    }

    [Fact]
    public async Task ReadAsync_WithoutASocket_ZeroByteAndFullReadsPassThroughUnwatched()
    {
        var inner = new MemoryStream(PongWatcherTests.Pong(42));
        await using var stream = new CoalescingStream(inner);

        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty));
        var buffer = new byte[64];
        Assert.Equal(14, await stream.ReadAsync(buffer));
        Assert.Equal(0, stream.PongsSeen);
        Assert.Equal(PongWatcherTests.Pong(42), buffer[..14]);
    }
}
