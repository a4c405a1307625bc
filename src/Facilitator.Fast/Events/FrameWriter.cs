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

    public int Written => _written;

    /// <summary>Starts a new frame (the previous one was detached).</summary>
    public void Start()
    {
        _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
        _written = 0;
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

    /// <summary>Hands the buffer to a frame, which owns it from now on.</summary>
    public EventFrame Detach(int jsonOffset, EventChannel channel, string? network = null, string? payee = null)
    {
        var frame = new EventFrame(_buffer, jsonOffset, _written, channel, network, payee);
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
