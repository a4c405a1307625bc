using System.Text;
using Facilitator.Fast.Events;

namespace Facilitator.Fast.Tests.Events;

/// <summary>Frames are shared by reference count; the relay header carries the routing facts to other instances.</summary>
public sealed class EventFrameTests
{
    private static EventFrame Frame(string json, EventChannel channel = EventChannel.Payments, string? network = "eip155:8453", string? payee = "0xab")
    {
        var writer = new FrameWriter();
        writer.Start();
        var bytes = Encoding.UTF8.GetBytes(json);
        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
        return writer.Detach(EventFrame.MaxHeaderBytes, channel, network, payee);
    }

    /// <summary>A client's view of a frame: RFC 6455 §5.2, read the way a client reads it.</summary>
    private static (bool Final, int Opcode, bool Masked, string Payload) ReadWire(ReadOnlySpan<byte> wire)
    {
        var length = (long)(wire[1] & 0x7F);
        var header = 2;
        if (length == 126)
        {
            length = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(wire[2..]);
            header = 4;
        }
        else if (length == 127)
        {
            length = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(wire[2..]);
            header = 10;
        }

        Assert.Equal(header + length, wire.Length);
        return ((wire[0] & 0x80) != 0, wire[0] & 0x0F, (wire[1] & 0x80) != 0, Encoding.UTF8.GetString(wire[header..]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65_535)]
    [InlineData(65_536)]
    [InlineData(200_000)]
    public void Wire_EveryLengthForm_OneFinalUnmaskedTextFrameAroundTheJson(int length)
    {
        var text = new string('a', length);
        var frame = Frame(text);

        var (final, opcode, masked, payload) = ReadWire(frame.Wire.Span);

        Assert.True(final);
        Assert.Equal(1, opcode);
        Assert.False(masked);
        Assert.Equal(text, payload);
        Assert.Equal(text, Encoding.UTF8.GetString(frame.Json.Span));
        frame.Release();
        Assert.Throws<ObjectDisposedException>(() => frame.Wire);
    }

    [Fact]
    public void Wire_FrameWithARelayHeader_FramesTheJsonAloneAndLeavesTheRelayIntact()
    {
        var writer = new FrameWriter();
        writer.Start(headroom: 0);
        var offset = RelayEnvelope.Write(writer, "instance-1"u8, EventChannel.Payments, "eip155:84532", "0xabc");
        var json = new string('b', 300);
        var bytes = Encoding.UTF8.GetBytes(json);
        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
        var frame = writer.Detach(offset, EventChannel.Payments);

        Assert.Equal((true, 1, false, json), ReadWire(frame.Wire.Span));
        Assert.True(RelayEnvelope.TryRead(frame.Relay.Span, out _, out _, out _, out _, out var jsonOffset));
        Assert.Equal(json, Encoding.UTF8.GetString(frame.Relay.Span[jsonOffset..]));
        frame.Release();
    }

    [Fact]
    public void Release_LastReference_BufferGoneOnlyThen()
    {
        var frame = Frame("""{"type":"x"}""");
        frame.AddReferences(2);

        frame.Release();
        frame.Release();
        Assert.Equal("""{"type":"x"}""", Encoding.UTF8.GetString(frame.Json.Span));
        frame.Release();

        Assert.Throws<ObjectDisposedException>(() => frame.Json);
    }

    [Fact]
    public void FrameWriter_LargerThanItsFirstBuffer_GrowsAndKeepsEveryByte()
    {
        var text = new string('a', 5000);
        var frame = Frame(text);

        Assert.Equal(text, Encoding.UTF8.GetString(frame.Json.Span));
        frame.Release();
    }

    [Fact]
    public void RelayEnvelope_WrittenThenRead_SameFactsAndJson()
    {
        var writer = new FrameWriter();
        writer.Start(headroom: 0);
        var offset = RelayEnvelope.Write(writer, "instance-1"u8, EventChannel.Payments, "eip155:84532", "0xabc");
        var json = """{"type":"payment:received"}"""u8;
        json.CopyTo(writer.GetSpan(json.Length));
        writer.Advance(json.Length);
        var frame = writer.Detach(offset, EventChannel.Payments);

        Assert.True(RelayEnvelope.TryRead(frame.Relay.Span, out var instance, out var channel, out var network, out var payee, out var jsonOffset));
        Assert.Equal("instance-1", Encoding.ASCII.GetString(instance));
        Assert.Equal(EventChannel.Payments, channel);
        Assert.Equal("eip155:84532", network);
        Assert.Equal("0xabc", payee);
        Assert.Equal(json.ToArray(), frame.Relay.Span[jsonOffset..].ToArray());
        Assert.Equal(json.ToArray(), frame.Json.ToArray());
        frame.Release();
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 2, 0, 1, 0, 0, 0x7b })]
    [InlineData(new byte[] { 1, 200, 1 })]
    [InlineData(new byte[] { 1, 0, 9, 0, 0, 0x7b })]
    [InlineData(new byte[] { 1, 0, 1, 50, 0x61 })]
    [InlineData(new byte[] { 1, 0, 1, 0, 0 })]
    public void RelayEnvelope_NotAnInstancesMessage_Refused(byte[] message) =>
        Assert.False(RelayEnvelope.TryRead(message, out _, out _, out _, out _, out _));

    [Theory]
    [InlineData(EventChannel.Payments, "eip155:8453", "0xab", true)]
    [InlineData(EventChannel.Payments, "eip155:1", "0xab", false)]
    [InlineData(EventChannel.Payments, "eip155:8453", "0xcd", false)]
    [InlineData(EventChannel.Errors, null, null, true)]
    [InlineData(EventChannel.Stats, null, null, false)]
    public void SubscriptionState_Matches_ChannelThenFilterOnPayments(EventChannel channel, string? network, string? payee, bool matches)
    {
        var state = new SubscriptionState(EventChannel.Payments | EventChannel.Errors, "eip155:8453", "0xab");
        var frame = Frame("{}", channel, network, payee);

        Assert.Equal(matches, state.Matches(frame));
        frame.Release();
    }
}
