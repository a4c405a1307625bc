namespace Facilitator.Fast.Events;

/// <summary>
/// Follows the frames a client sends (RFC 6455 §5.2, as they pass beneath the WebSocket, unchanged) for just one thing:
/// the 8-byte payload of each pong, so the connection learns that the client has read everything written before the
/// ping it answers. A few fields of state across reads (it lives inside its stream: no arrays, nothing allocated), and it
/// never throws: bytes it cannot make sense of are the WebSocket's to refuse.
/// </summary>
internal struct PongWatcher
{
    private const byte PongOpcode = 0xA;

    private byte _first;
    private byte _second;
    private int _headerRead;
    private int _headerLength;
    private ulong _extendedLength;
    private uint _mask;
    private long _payloadLeft;
    private int _payloadTaken;
    private ulong _payload;
    private bool _collecting;

    /// <summary>The payload of the last 8-byte pong seen.</summary>
    public long LastPong { get; private set; }

    /// <summary>8-byte pongs seen.</summary>
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
                    for (var i = 0; i < take; i++, _payloadTaken++)
                    {
                        var maskByte = (byte)(_mask >> (8 * (3 - (_payloadTaken & 3))));
                        _payload = (_payload << 8) | (byte)(bytes[i] ^ maskByte);
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

            HeaderByte(bytes[0]);
            bytes = bytes[1..];
        }
    }

    private void HeaderByte(byte value)
    {
        var index = _headerRead++;
        if (index == 0)
        {
            _first = value;
            _headerLength = 2;
            return;
        }

        if (index == 1)
        {
            _second = value;
            var length = value & 0x7F;
            _headerLength = 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + ((value & 0x80) != 0 ? 4 : 0);
            _extendedLength = 0;
            _mask = 0;
        }
        else if (index < _headerLength - (Masked ? 4 : 0))
        {
            _extendedLength = (_extendedLength << 8) | value;
        }
        else
        {
            _mask = (_mask << 8) | value;
        }

        if (_headerRead == _headerLength)
        {
            StartPayload();
        }
    }

    private readonly bool Masked => (_second & 0x80) != 0;

    private void StartPayload()
    {
        var length = _second & 0x7F;
        _payloadLeft = length >= 126 ? (long)Math.Min(_extendedLength, long.MaxValue) : length;
        _collecting = (_first & 0x0F) == PongOpcode && _payloadLeft == 8 && Masked;
        _payloadTaken = 0;
        _payload = 0;
        if (_payloadLeft == 0)
        {
            EndFrame();
        }
    }

    private void EndFrame()
    {
        if (_collecting)
        {
            LastPong = (long)_payload;
            Pongs++;
        }

        _collecting = false;
        _headerRead = 0;
    }
}
