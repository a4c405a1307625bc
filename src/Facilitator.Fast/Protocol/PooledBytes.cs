using System.Buffers;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// A byte buffer rented from <see cref="ArrayPool{T}.Shared"/> that holds a request or an upstream answer
/// while it crosses the gateway, so the hot path does not allocate a fresh array per request.
/// </summary>
/// <remarks>
/// The owner disposes it once (further calls do nothing). Anything else that reads the bytes and may outlive the
/// owner's use — an upstream request still sending the body after its attempt was cancelled — holds a reference
/// (<see cref="AddReference"/>/<see cref="ReleaseReference"/>): the array goes back to the pool only when the owner and
/// every holder are done, so no reader can see another request's bytes in a reused array.
/// </remarks>
public sealed class PooledBytes : IDisposable
{
    private byte[] _array;
    private int _length;
    private int _references = 1;
    private int _ownerReleased;

    public PooledBytes(int initialCapacity)
    {
        _array = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));
    }

    /// <summary>A pooled copy of <paramref name="bytes"/>: a request kept elsewhere, sent again.</summary>
    public static PooledBytes CopyOf(ReadOnlySpan<byte> bytes)
    {
        var pooled = new PooledBytes(bytes.Length);
        bytes.CopyTo(pooled.GetWritableMemory(bytes.Length).Span);
        pooled.Advance(bytes.Length);
        return pooled;
    }

    public int Length => _length;

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, _length);

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, _length);

    /// <summary>True once the array went back to the pool.</summary>
    public bool IsReleased => Volatile.Read(ref _references) == 0;

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

    /// <summary>Keeps the array out of the pool until a matching <see cref="ReleaseReference"/>; the owner must not have released it.</summary>
    public void AddReference()
    {
        var current = Volatile.Read(ref _references);
        while (true)
        {
            ObjectDisposedException.ThrowIf(current == 0, this);
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Drops one reference taken with <see cref="AddReference"/>; the last one returns the array.</summary>
    public void ReleaseReference()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            var array = Interlocked.Exchange(ref _array, []);
            _length = 0;
            if (array.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }

    private void Grow(int required)
    {
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(required, _array.Length * 2));
        _array.AsSpan(0, _length).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_array);
        _array = next;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _ownerReleased, 1) == 0)
        {
            ReleaseReference();
        }
    }
}
