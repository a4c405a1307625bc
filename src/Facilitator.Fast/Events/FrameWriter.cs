using System.Buffers;

namespace Facilitator.Fast.Events;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over an array rented from <see cref="ArrayPool{T}.Shared"/>, grown by renting a
/// larger one: an event is serialised straight into the buffer its frame then owns, with no copy.
/// </summary>
internal sealed class FrameWriter : IBufferWriter<byte>
{
    private const int InitialSize = 1024;

    /// <summary>An event is small; one larger than this is a defect, and refused rather than grown without bound.</summary>
    public const int MaxSize = 1024 * 1024;

    private byte[] _buffer = [];
    private int _written;
    private int _headroom;

    public int Written => _written;

    /// <summary>
    /// Starts a new frame (the previous one was detached), leaving <paramref name="headroom"/> bytes at its start: by
    /// default room for the WebSocket header the frame writes there once the JSON's length is known; none for a frame
    /// that starts with a relay header.
    /// </summary>
    public void Start(int headroom = EventFrame.MaxHeaderBytes)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
        _written = _headroom = headroom;
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>
    /// Hands the buffer to a frame, which owns it from now on. The JSON starts at <paramref name="jsonOffset"/>: right
    /// after the headroom left by <see cref="Start"/>, or after a relay header.
    /// </summary>
    public EventFrame Detach(int jsonOffset, EventChannel channel, string? network = null, string? payee = null)
    {
        var frame = new EventFrame(
            _buffer, jsonOffset, _written, channel, network, payee, freeBeforeJson: jsonOffset == _headroom ? _headroom : 0);
        _buffer = [];
        _written = 0;
        return frame;
    }

    /// <summary>Returns the buffer of a frame that will not be made (serialisation failed).</summary>
    public void Abandon()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = [];
        _written = 0;
    }

    private void Ensure(int sizeHint)
    {
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        if (needed > MaxSize)
        {
            throw new InvalidOperationException("An event is larger than the largest frame.");
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = larger;
    }
}
