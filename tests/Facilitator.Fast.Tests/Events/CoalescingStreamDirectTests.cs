using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Facilitator.Fast.Events;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// Writes move from Kestrel's path to the socket only once a ping written through Kestrel, with nothing written there
/// since, is answered — so a direct write never overtakes what Kestrel still holds. Kestrel's pipe is stood in for by a
/// stream over the same real loopback socket that holds its writes until told to let them go.
/// </summary>
public sealed class CoalescingStreamDirectTests
{
    /// <summary>Kestrel's output as the stream sees it: writes queued until <see cref="Release"/>, then written in order.</summary>
    private sealed class HeldPipeStream(Socket socket) : Stream
    {
        private readonly NetworkStream _network = new(socket, ownsSocket: false);
        private readonly List<byte[]> _held = [];
        private bool _released;

        public int Writes { get; private set; }

        public void Release()
        {
            lock (_held)
            {
                foreach (var bytes in _held)
                {
                    _network.Write(bytes);
                }

                _held.Clear();
                _released = true;
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (_held)
            {
                Writes++;
                if (_released)
                {
                    _network.Write(buffer.Span);
                }
                else
                {
                    _held.Add(buffer.ToArray());
                }
            }

            return ValueTask.CompletedTask;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _network.ReadAsync(buffer, cancellationToken);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => _network.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        protected override void Dispose(bool disposing)
        {
            _network.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>The client's end: reads server frames in order, answers pings with masked pongs unless told not to.</summary>
    private sealed class Client(Socket socket, bool answerPings)
    {
        public List<string> Texts { get; } = [];

        public int Pings { get; private set; }

        public async Task RunAsync()
        {
            var buffer = new byte[1 << 16];
            var length = 0;
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None);
                if (read == 0)
                {
                    return;
                }

                length += read;
                var offset = 0;
                while (length - offset >= 2)
                {
                    var payloadLength = buffer[offset + 1] & 0x7F;
                    var start = offset + 2;
                    if (length - start < payloadLength)
                    {
                        break;
                    }

                    var payload = buffer.AsSpan(start, payloadLength).ToArray();
                    if (buffer[offset] == 0x81)
                    {
                        lock (Texts)
                        {
                            Texts.Add(Encoding.ASCII.GetString(payload));
                        }
                    }
                    else if (buffer[offset] == 0x89)
                    {
                        Pings++;
                        if (answerPings)
                        {
                            await socket.SendAsync(PongWatcherTests.ClientFrame(0xA, payload), SocketFlags.None);
                        }
                    }

                    offset = start + payloadLength;
                }

                buffer.AsSpan(offset, length - offset).CopyTo(buffer);
                length -= offset;
            }
        }

        public int Received
        {
            get
            {
                lock (Texts)
                {
                    return Texts.Count;
                }
            }
        }
    }

    private static byte[] Text(int n)
    {
        var json = Encoding.ASCII.GetBytes($"m{n}");
        return [0x81, (byte)json.Length, .. json];
    }

    private static async Task<(Socket Server, Socket Client)> ConnectedPairAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptSocketAsync();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        return (await accept, client);
    }

    private static async Task DrainReadsAsync(CoalescingStream stream)
    {
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    [Fact]
    public async Task ProbeAsync_AnsweredWithNothingWrittenSince_LaterWritesGoToTheSocketAfterWhatKestrelHeld()
    {
        var (server, clientSocket) = await ConnectedPairAsync();
        using var _ = server;
        using var __ = clientSocket;
        var pipe = new HeldPipeStream(server);
        await using var stream = new CoalescingStream(pipe, server);
        var wentDirect = 0;
        stream.WentDirect = () => wentDirect++;
        var client = new Client(clientSocket, answerPings: true);
        var receiving = client.RunAsync();
        var reading = DrainReadsAsync(stream);

        for (var i = 0; i < 5; i++)
        {
            await stream.WriteAsync(Text(i));
        }

        await stream.ProbeAsync();
        Assert.False(stream.IsDirect);
        pipe.Release();
        await Eventually.TrueAsync(() => stream.PongsSeen == 1, "the client's pong is read");
        var sent = 5;
        for (; sent < 200; sent++)
        {
            await stream.WriteAsync(Text(sent));
        }

        Assert.True(stream.IsDirect);
        Assert.Equal(1, wentDirect);
        Assert.Equal(6, pipe.Writes);
        await Eventually.TrueAsync(() => client.Received == sent, "every frame arrives");
        Assert.Equal(Enumerable.Range(0, sent).Select(i => $"m{i}"), client.Texts);
    }

    [Fact]
    public async Task ProbeAsync_AnotherPongReadAfterTheProbesAnswer_NextWriteStillGoesToTheSocket()
    {
        var (server, clientSocket) = await ConnectedPairAsync();
        using var _ = server;
        using var __ = clientSocket;
        var pipe = new HeldPipeStream(server);
        await using var stream = new CoalescingStream(pipe, server);
        var client = new Client(clientSocket, answerPings: true);
        var receiving = client.RunAsync();
        var reading = DrainReadsAsync(stream);

        await stream.ProbeAsync();
        pipe.Release();
        await Eventually.TrueAsync(() => stream.PongsSeen == 1, "the probe's pong is read");

        // An 8-byte pong of another ping (the WebSocket's keep-alive sends such pings) read before the next write.
        await clientSocket.SendAsync(PongWatcherTests.ClientFrame(0xA, BitConverter.GetBytes(0x0102030405060708L)), SocketFlags.None);
        await Eventually.TrueAsync(() => stream.PongsSeen == 2, "the other pong is read");
        await stream.WriteAsync(Text(0));

        Assert.True(stream.IsDirect);
        await Eventually.TrueAsync(() => client.Received == 1, "the frame arrives");
    }

    [Fact]
    public async Task ProbeAsync_KestrelWrittenAfterThePing_PongDoesNotSwitchAndTheNextProbeDoes()
    {
        var (server, clientSocket) = await ConnectedPairAsync();
        using var _ = server;
        using var __ = clientSocket;
        var pipe = new HeldPipeStream(server);
        await using var stream = new CoalescingStream(pipe, server);
        var client = new Client(clientSocket, answerPings: true);
        var receiving = client.RunAsync();
        var reading = DrainReadsAsync(stream);

        await stream.ProbeAsync();
        await stream.WriteAsync(Text(0));
        pipe.Release();
        await Eventually.TrueAsync(() => stream.PongsSeen == 1, "the client's pong is read");

        // The pong proves Kestrel sent the ping, not the frame written after it.
        await stream.WriteAsync(Text(1));
        Assert.False(stream.IsDirect);

        await stream.ProbeAsync();
        await Eventually.TrueAsync(() => stream.PongsSeen == 2, "the second pong is read");
        await stream.WriteAsync(Text(2));
        Assert.True(stream.IsDirect);
        await Eventually.TrueAsync(() => client.Received == 3, "every frame arrives");
        Assert.Equal(["m0", "m1", "m2"], client.Texts);
        Assert.Equal(2, client.Pings);
    }

    [Fact]
    public async Task ProbeAsync_ClientNeverAnswers_OnePingAndEveryWriteStaysOnKestrelsPath()
    {
        var (server, clientSocket) = await ConnectedPairAsync();
        using var _ = server;
        using var __ = clientSocket;
        var pipe = new HeldPipeStream(server);
        pipe.Release();
        await using var stream = new CoalescingStream(pipe, server);
        var client = new Client(clientSocket, answerPings: false);
        var receiving = client.RunAsync();
        var reading = DrainReadsAsync(stream);

        for (var i = 0; i < 20; i++)
        {
            await stream.ProbeAsync();
            await stream.WriteAsync(Text(i));
        }

        await Eventually.TrueAsync(() => client.Received == 20, "every frame arrives");
        Assert.False(stream.IsDirect);
        Assert.Equal(1, client.Pings);
        Assert.Equal(21, pipe.Writes);
    }

    [Fact]
    public async Task ProbeAsync_WithoutASocket_WritesNothing()
    {
        var inner = new MemoryStream();
        await using var stream = new CoalescingStream(inner);

        await stream.ProbeAsync();

        Assert.Equal(0, inner.Length);
        Assert.False(stream.IsDirect);
    }
}
