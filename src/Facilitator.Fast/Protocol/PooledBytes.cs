using System.Buffers;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// A byte buffer rented from <see cref="ArrayPool{T}.Shared"/> that holds a request or an upstream answer
/// while it crosses the gateway, so the hot path does not allocate a fresh array per request.
/// </summary>
/// <remarks>The owner must call <see cref="Dispose"/> exactly once; the instance is not usable afterwards.</remarks>
public sealed class PooledBytes : IDisposable
{
    private byte[] _array;
    private int _length;

    public PooledBytes(int initialCapacity)
    {
        _array = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));
    }

    public int Length => _length;

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, _length);

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, _length);

    /// <summary>Returns writable space of at least <paramref name="sizeHint"/> bytes after the current content.</summary>
    public Memory<byte> GetWritableMemory(int sizeHint)
    {
        if (_array.Length - _length < sizeHint)
        {
            Grow(_length + sizeHint);
        }

        return _array.AsMemory(_length);
    }

    /// <summary>
    /// Space to read into: what is free after the content, grown (doubled, at least 4 KiB more) only when nothing is
    /// free, so a buffer rented at the known body length plus one byte reads the body and its end without regrowing.
    /// </summary>
    public Memory<byte> GetReadMemory() => _array.Length > _length ? _array.AsMemory(_length) : GetWritableMemory(4096);

    public void Advance(int count) => _length += count;


    private void Grow(int required)
    {
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(required, _array.Length * 2));
        _array.AsSpan(0, _length).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_array);
        _array = next;
    }

    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array, []);
        if (array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(array);
        }

        _length = 0;
    }
}
