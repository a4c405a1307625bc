using System.Buffers.Binary;

namespace Facilitator.Fast.Events;

/// <summary>
/// Follows the frames a client sends (RFC 6455 §5.2, as they pass beneath the WebSocket, unchanged) for just one thing:
/// the 8-byte payload of each pong, so the connection learns that the client has read everything written before the
/// ping it answers. It keeps a few bytes of state across reads, allocates nothing and never throws: bytes it cannot
/// make sense of are the WebSocket's to refuse.
/// </summary>
internal sealed class PongWatcher
{
    private const byte PongOpcode = 0xA;

    private readonly byte[] _header = new byte[14];
    private readonly byte[] _payload = new byte[8];
    private int _headerLength;
    private int _headerNeeded = 2;
    private long _payloadLeft;
    private int _payloadTaken;
    private bool _collecting;

    /// <summary>The payload of the last 8-byte pong seen, and how many such pongs were seen.</summary>
    public long LastPong { get; private set; }

    public long Pongs { get; private set; }

    /// <summary>Follows <paramref name="bytes"/>, the next bytes read from the client.</summary>
    public void Observe(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_payloadLeft > 0)
            {
                var take = (int)Math.Min(_payloadLeft, bytes.Length);
                if (_collecting)
                {
                    var mask = _header.AsSpan(_headerNeeded - 4, 4);
                    for (var i = 0; i < take; i++, _payloadTaken++)
                    {
                        _payload[_payloadTaken] = (byte)(bytes[i] ^ mask[_payloadTaken & 3]);
                    }
                }

                _payloadLeft -= take;
                bytes = bytes[take..];
                if (_payloadLeft == 0)
                {
                    EndFrame();
                }

                continue;
            }

            _header[_headerLength++] = bytes[0];
            bytes = bytes[1..];
            if (_headerLength == 2)
            {
                var length = _header[1] & 0x7F;
                _headerNeeded = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + ((_header[1] & 0x80) != 0 ? 4 : 0);
            }

            if (_headerLength == _headerNeeded)
            {
                StartPayload();
            }
        }
    }

    private void StartPayload()
    {
        var length = _header[1] & 0x7F;
        _payloadLeft = length switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(2)),
            127 => (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(2)), long.MaxValue),
            _ => length,
        };
        _collecting = (_header[0] & 0x0F) == PongOpcode && _payloadLeft == 8 && (_header[1] & 0x80) != 0;
        _payloadTaken = 0;
        if (_payloadLeft == 0)
        {
            EndFrame();
        }
    }

    private void EndFrame()
    {
        if (_collecting)
        {
            LastPong = BinaryPrimitives.ReadInt64BigEndian(_payload);
            Pongs++;
        }

        _collecting = false;
        _headerLength = 0;
        _headerNeeded = 2;
    }
}
