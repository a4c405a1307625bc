using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Facilitator.Fast.Load;

/// <summary>
/// One subscriber of the event stream in a load run, as a dashboard would be: a WebSocket subscribed to
/// <c>payments</c> that reads every frame as it comes, and hands the type and id of each payment event to a
/// <see cref="IPaymentEventSink"/> (the <see cref="DeliveryClock"/> that knows when that payment was triggered, or the
/// chaos run's record of what each subscriber got).
/// </summary>
/// <remarks>
/// It speaks RFC 6455 over a plain socket — the handshake, masked frames out, unmasked frames in, several per read,
/// pings answered — rather than through <c>ClientWebSocket</c>, whose per-message cost was as large as the service's:
/// the client shares the service's cores, so what it spends is taken from what is measured. For the same reason the
/// handshake is made with blocking calls and the frames are then read by a <see cref="SocketReadiness"/> loop, never
/// through .NET's asynchronous socket engine. Anything the service sends that breaks the protocol (a masked or
/// fragmented frame, a bad handshake) ends the subscriber with a failure.
/// </remarks>
internal sealed class EventSubscriber : IReadyReader, IDisposable
{
    private const int MaxFrameBytes = 1024 * 1024;

    private static ReadOnlySpan<byte> SubscribeMessage => """{"type":"subscribe","channels":["payments"]}"""u8;

    private static ReadOnlySpan<byte> LaggedPrefix => """{"type":"lagged","data":{"dropped":"""u8;

    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[] _buffer = new byte[4096];
    private int _start;
    private int _length;
    private long _events;
    private long _dropped;
    private int _lagged;
    private int _finished;
    private IPaymentEventSink? _sink;
    private SocketReadiness? _loop;
    private long _registration;
    private CancellationTokenRegistration _cancellation;

    /// <summary>Payment events of the run received.</summary>
    public long Events => Volatile.Read(ref _events);

    /// <summary>Whether the service told this subscriber it fell behind (it did not keep up).</summary>
    public bool Lagged => Volatile.Read(ref _lagged) != 0;

    /// <summary>Events the service dropped for this subscriber, from its <c>lagged</c> notices.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Why reading ended before it was asked to, if it did.</summary>
    public string? Failure { get; private set; }

    /// <summary>Completes when the service has answered the subscription.</summary>
    public Task Subscribed => _subscribed.Task;

    /// <summary>
    /// Opens the WebSocket (the HTTP/1.1 upgrade, its accept key checked) and subscribes to <c>payments</c>, blocking
    /// the calling thread for at most <paramref name="timeout"/> per call to the socket.
    /// </summary>
    /// <exception cref="IOException">The service refused the upgrade or answered it wrongly.</exception>
    /// <exception cref="SocketException">The connection failed or timed out.</exception>
    public void Connect(Uri uri, TimeSpan timeout)
    {
        _socket.SendTimeout = _socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        _socket.Connect(uri.Host, uri.Port);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = Encoding.ASCII.GetBytes(
            $"GET {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n");
        _socket.Send(request);

        int end;
        while ((end = _buffer.AsSpan(0, _length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (_length == _buffer.Length)
            {
                throw new IOException("The upgrade's answer has no end of headers.");
            }

            var read = _socket.Receive(_buffer.AsSpan(_length));
            if (read == 0)
            {
                throw new IOException("The service closed the connection during the upgrade.");
            }

            _length += read;
        }

        var headers = Encoding.ASCII.GetString(_buffer, 0, end);
        var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        if (!headers.StartsWith("HTTP/1.1 101", StringComparison.Ordinal)
            || !headers.Contains("Sec-WebSocket-Accept: " + accept, StringComparison.OrdinalIgnoreCase))
        {
            throw new IOException("The service did not accept the upgrade: " + headers.Split("\r\n")[0]);
        }

        // Frames that came with the answer stay in the buffer for the first read.
        Consume(end + 4);
        if (!Send(0x1, SubscribeMessage))
        {
            throw new IOException("The subscription could not be sent.");
        }

        _socket.Blocking = false;
    }

    /// <summary>
    /// Reads frames from now on, handing payment events to <paramref name="sink"/>, until the socket closes, the
    /// service breaks the protocol or <paramref name="cancellationToken"/> fires; the task completes then.
    /// </summary>
    public Task ReceiveAsync(IPaymentEventSink sink, CancellationToken cancellationToken)
    {
        _sink = sink;
        if (!TakeFrames())
        {
            Finish();
            return _ended.Task;
        }

        _loop = SocketReadiness.Next();
        _registration = _loop.NewRegistration();
        _loop.Add(_socket, _registration, this);
        _cancellation = cancellationToken.Register(static state => ((EventSubscriber)state!).Finish(), this);
        return _ended.Task;
    }

    /// <summary>Called by the <see cref="SocketReadiness"/> loop (its one thread) when the socket can be read.</summary>
    public void Readable(bool hungUp)
    {
        if (Volatile.Read(ref _finished) != 0)
        {
            return;
        }

        Compact();
        if (_length == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        int read;
        SocketError error;
        try
        {
            read = _socket.Receive(_buffer.AsSpan(_length), SocketFlags.None, out error);
        }
        catch (ObjectDisposedException)
        {
            Finish();
            return;
        }

        if (error == SocketError.WouldBlock && !hungUp)
        {
            return;
        }

        if (error != SocketError.Success || read == 0)
        {
            Failure = error == SocketError.Success || error == SocketError.WouldBlock
                ? "the service closed the connection without a close frame"
                : new SocketException((int)error).Message;
            Finish();
            return;
        }

        _length += read;
        if (!TakeFrames())
        {
            Finish();
        }
    }

    /// <summary>Takes every whole frame in the buffer; false when reading must end (a close, or a frame that breaks the protocol).</summary>
    private bool TakeFrames()
    {
        while (TryTakeFrame(out var opcode, out var payload))
        {
            switch (opcode)
            {
                case 0x1:
                    Take(_buffer.AsSpan(payload), _sink!);
                    break;
                case 0x8:
                    var close = _buffer.AsSpan(payload);
                    Failure = $"closed by the service: {(close.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(close) : 0)} " +
                        Encoding.UTF8.GetString(close.Length > 2 ? close[2..] : default);
                    return false;
                case 0x9:
                    if (!Send(0xA, _buffer.AsSpan(payload)))
                    {
                        Failure = "a ping could not be answered";
                        return false;
                    }

                    break;
                case 0xA:
                    break;
                default:
                    Failure = $"a frame this stream never sends (opcode {opcode})";
                    return false;
            }

            Consume(payload.End.Value);
        }

        return Failure is null;
    }

    /// <summary>Stops reading (once): the socket leaves its loop and the receive task completes.</summary>
    private void Finish()
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0)
        {
            return;
        }

        if (_loop is not null)
        {
            _loop.Remove(_socket, _registration);
        }

        _cancellation.Dispose();
        _ended.TrySetResult();
    }

    /// <summary>The next whole frame in the buffer: its opcode and where its payload is; false when it has not all come.</summary>
    private bool TryTakeFrame(out int opcode, out Range payload)
    {
        opcode = 0;
        payload = default;
        var data = _buffer.AsSpan(_start, _length - _start);
        if (data.Length < 2)
        {
            return false;
        }

        if ((data[0] & 0x80) == 0 || (data[1] & 0x80) != 0)
        {
            Failure = (data[1] & 0x80) != 0 ? "the service sent a masked frame" : "the service sent a fragmented message";
            return false;
        }

        var header = 2;
        long length = data[1] & 0x7F;
        if (length == 126)
        {
            header = 4;
            length = data.Length < header ? -1 : BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
        }
        else if (length == 127)
        {
            header = 10;
            length = data.Length < header ? -1 : (long)BinaryPrimitives.ReadUInt64BigEndian(data[2..]);
        }

        if (length > MaxFrameBytes)
        {
            Failure = $"a frame of {length} bytes";
            return false;
        }

        if (length < 0 || data.Length < header + length)
        {
            return false;
        }

        opcode = data[0] & 0x0F;
        payload = (_start + header)..(_start + header + (int)length);
        return true;
    }

    /// <summary>Everything before <paramref name="end"/> has been read.</summary>
    private void Consume(int end) => _start = end;

    /// <summary>Moves what is left of a frame to the front before the next read (once per read, not per frame).</summary>
    private void Compact()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _length - _start).CopyTo(_buffer);
            _length -= _start;
            _start = 0;
        }
    }

    /// <summary>Sends one whole short frame, masked as a client must, without waiting; false when the socket did not take it all.</summary>
    private bool Send(int opcode, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > 125)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), "Only short client frames are sent.");
        }

        Span<byte> frame = stackalloc byte[6 + payload.Length];
        frame[0] = (byte)(0x80 | opcode);
        frame[1] = (byte)(0x80 | payload.Length);
        RandomNumberGenerator.Fill(frame.Slice(2, 4));
        for (var i = 0; i < payload.Length; i++)
        {
            frame[6 + i] = (byte)(payload[i] ^ frame[2 + (i & 3)]);
        }

        try
        {
            return _socket.Send(frame, SocketFlags.None, out var error) == frame.Length && error == SocketError.Success;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    private void Take(ReadOnlySpan<byte> message, IPaymentEventSink sink)
    {
        if (message.StartsWith("""{"type":"payment:"""u8))
        {
            var type = message["{\"type\":\""u8.Length..];
            type = type[..Math.Max(type.IndexOf((byte)'"'), 0)];
            var at = message.IndexOf("\"paymentId\":\""u8);
            if (at >= 0 && Utf8Parser.TryParse(message[(at + "\"paymentId\":\"".Length)..], out Guid id, out _, 'D') && sink.Delivered(type, id))
            {
                Interlocked.Increment(ref _events);
            }
        }
        else if (message.StartsWith(LaggedPrefix))
        {
            Volatile.Write(ref _lagged, 1);
            if (Utf8Parser.TryParse(message[LaggedPrefix.Length..], out long dropped, out _))
            {
                Interlocked.Add(ref _dropped, dropped);
            }
        }
        else if (message.StartsWith("""{"type":"subscribed"""u8))
        {
            _subscribed.TrySetResult();
        }
    }

    public void Dispose()
    {
        Finish();
        _socket.Dispose();
    }
}
