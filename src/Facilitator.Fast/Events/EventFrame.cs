using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;

namespace Facilitator.Fast.Events;

/// <summary>
/// One serialised message, shared by every recipient: the UTF-8 JSON of the event in a buffer rented from
/// <see cref="ArrayPool{T}.Shared"/>, counted by reference — one reference per queue holding it (and one for the Redis
/// publish in flight) — and returned to the pool when the last is released. With it go the routing facts the hub
/// filters on, so no recipient parses the JSON.
/// </summary>
/// <remarks>
/// The buffer may start with the relay header (<see cref="RelayEnvelope"/>) for other instances; <see cref="Json"/> is
/// the message a client is sent, and <see cref="Wire"/> the whole WebSocket frame that carries it — made once here, in
/// the free bytes its writer left before the JSON (or, behind a relay header, in a second pooled buffer), so that an
/// HTTP/1.1 connection writes the same frame bytes as every other recipient with no framing of its own. Each holder
/// releases exactly once; a buffer is never used after its last release.
/// </remarks>
internal sealed class EventFrame
{
    /// <summary>Bytes a frame header takes at most (a payload length over 65,535 takes eight).</summary>
    public const int MaxHeaderBytes = 10;

    private byte[]? _buffer;
    private byte[]? _wireBuffer;
    private readonly int _jsonOffset;
    private readonly int _length;
    private readonly int _wireOffset;
    private int _references = 1;

    /// <param name="buffer">Rented from <see cref="ArrayPool{T}.Shared"/>; the frame owns it from now on.</param>
    /// <param name="freeBeforeJson">Bytes just before the JSON the frame may write its WebSocket header into.</param>
    public EventFrame(byte[] buffer, int jsonOffset, int length, EventChannel channel, string? network = null, string? payee = null, int freeBeforeJson = 0)
    {
        _buffer = buffer;
        _jsonOffset = jsonOffset;
        _length = length;
        Channel = channel;
        Network = network;
        Payee = payee;

        var json = buffer.AsSpan(jsonOffset, length - jsonOffset);
        var header = HeaderLength(json.Length);
        if (freeBeforeJson >= header)
        {
            _wireOffset = jsonOffset - header;
            WriteHeader(buffer.AsSpan(_wireOffset, header), json.Length);
        }
        else
        {
            _wireBuffer = ArrayPool<byte>.Shared.Rent(header + json.Length);
            WriteHeader(_wireBuffer.AsSpan(0, header), json.Length);
            json.CopyTo(_wireBuffer.AsSpan(header));
        }
    }

    /// <summary>The channel it goes to; <see cref="EventChannel.None"/> for a frame to one client (welcome, confirmations, errors).</summary>
    public EventChannel Channel { get; }

    /// <summary>The CAIP-2 network of a payment event, for the <c>network</c> filter.</summary>
    public string? Network { get; }

    /// <summary>The payee of a payment event in lower case, for the <c>payee</c> filter.</summary>
    public string? Payee { get; }

    /// <summary>What a client is sent: the event's JSON.</summary>
    public ReadOnlyMemory<byte> Json => new(_buffer ?? throw Released(), _jsonOffset, _length - _jsonOffset);

    /// <summary>The WebSocket frame a client is sent: one final, unmasked text frame around <see cref="Json"/>.</summary>
    public ReadOnlyMemory<byte> Wire
    {
        get
        {
            var jsonLength = JsonLength;
            return Volatile.Read(ref _wireBuffer) is { } wire
                ? new(wire, 0, HeaderLength(jsonLength) + jsonLength)
                : new(_buffer ?? throw Released(), _wireOffset, _length - _wireOffset);
        }
    }

    /// <summary>The relay header and the JSON, as published to the other instances (of a frame made with a relay header).</summary>
    public ReadOnlyMemory<byte> Relay => new(_buffer ?? throw Released(), 0, _length);

    public int JsonLength => _length - _jsonOffset;

    /// <summary>Takes <paramref name="count"/> more references, one per holder about to keep it.</summary>
    public void AddReferences(int count)
    {
        var after = Interlocked.Add(ref _references, count);
        Debug.Assert(after > count, "a frame was referenced after its last release");
    }

    /// <summary>Gives back <paramref name="count"/> references; the last one returns the buffer to the pool.</summary>
    public void Release(int count = 1)
    {
        var after = Interlocked.Add(ref _references, -count);
        Debug.Assert(after >= 0, "a frame was released more often than referenced");
        if (after == 0 && Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (Interlocked.Exchange(ref _wireBuffer, null) is { } wire)
            {
                ArrayPool<byte>.Shared.Return(wire);
            }
        }
    }

    private static int HeaderLength(int payloadLength) => payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : MaxHeaderBytes;

    /// <summary>RFC 6455 §5.2: FIN and the text opcode, then the payload length in the shortest form; a server never masks.</summary>
    private static void WriteHeader(Span<byte> header, int payloadLength)
    {
        header[0] = 0x81;
        if (payloadLength < 126)
        {
            header[1] = (byte)payloadLength;
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            header[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)payloadLength);
        }
        else
        {
            header[1] = 127;
            BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)payloadLength);
        }
    }

    private static ObjectDisposedException Released() => new(nameof(EventFrame), "The frame was used after its last release.");
}
