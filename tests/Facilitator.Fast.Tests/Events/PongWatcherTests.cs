using System.Buffers.Binary;
using Facilitator.Fast.Events;

namespace Facilitator.Fast.Tests.Events;

public sealed class PongWatcherTests
{
    /// <summary>A client frame (RFC 6455 §5.2): FIN, the opcode, the shortest length form, masked unless told not to.</summary>
    internal static byte[] ClientFrame(byte opcode, byte[] payload, bool masked = true)
    {
        var header = new List<byte> { (byte)(0x80 | opcode) };
        var maskBit = masked ? (byte)0x80 : (byte)0;
        if (payload.Length < 126)
        {
            header.Add((byte)(maskBit | payload.Length));
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header.Add((byte)(maskBit | 126));
            header.Add((byte)(payload.Length >> 8));
            header.Add((byte)payload.Length);
        }
        else
        {
            header.Add((byte)(maskBit | 127));
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(length, (ulong)payload.Length);
            header.AddRange(length);
        }

        var body = (byte[])payload.Clone();
        if (masked)
        {
            byte[] mask = [0x37, 0xFA, 0x21, 0x3D];
            header.AddRange(mask);
            for (var i = 0; i < body.Length; i++)
            {
                body[i] ^= mask[i & 3];
            }
        }

        return [.. header, .. body];
    }

    internal static byte[] Pong(long payload, bool masked = true)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, payload);
        return ClientFrame(0xA, bytes, masked);
    }

    [Fact]
    public void Observe_PongAfterFramesOfEveryLengthFormByteByByte_ReadsItsPayload()
    {
        var watcher = new PongWatcher();
        byte[] stream = [
            .. ClientFrame(0x1, new byte[5]), .. ClientFrame(0x1, new byte[300]), .. ClientFrame(0x2, new byte[70_000]),
            .. ClientFrame(0x9, [1, 2]), .. Pong(0x0102030405060708)];

        foreach (var b in stream)
        {
            watcher.Observe([b]);
        }

        Assert.Equal(1, watcher.Pongs);
        Assert.Equal(0x0102030405060708, watcher.LastPong);
    }

    [Fact]
    public void Observe_PongsInOneRead_CountsEachAndKeepsTheLast()
    {
        var watcher = new PongWatcher();

        watcher.Observe([.. Pong(11), .. ClientFrame(0x1, new byte[8]), .. Pong(-7)]);

        Assert.Equal(2, watcher.Pongs);
        Assert.Equal(-7, watcher.LastPong);
    }

    [Fact]
    public void Observe_UnmaskedPongOrOtherLengths_NotCounted()
    {
        var watcher = new PongWatcher();

        watcher.Observe([.. Pong(5, masked: false), .. ClientFrame(0xA, new byte[7]), .. ClientFrame(0xA, new byte[9]), .. ClientFrame(0xA, [])]);

        Assert.Equal(0, watcher.Pongs);
    }

    [Fact]
    public void Observe_Garbage_NeverThrows()
    {
        var watcher = new PongWatcher();
        var random = new Random(7);
        var bytes = new byte[100_000];
        random.NextBytes(bytes);

        for (var i = 0; i < bytes.Length; i += 97)
        {
            watcher.Observe(bytes.AsSpan(i, Math.Min(97, bytes.Length - i)));
        }
    }
}
