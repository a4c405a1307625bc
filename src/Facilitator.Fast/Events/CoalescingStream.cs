using System.Buffers;

namespace Facilitator.Fast.Events;

/// <summary>
/// The upgraded connection's stream, under the WebSocket: while the send loop drains a batch of queued frames, the
/// WebSocket's writes are gathered in one pooled buffer and reach the socket in one write when the batch ends, instead
/// of one write (and one system call) per message. Outside a batch a write goes straight through. Nothing is held
/// between batches, so an idle connection keeps no buffer.
/// </summary>
/// <remarks>
/// Writes come from the send loop (each a whole frame) and from the WebSocket's own pings, pongs and close (each a whole
/// frame too), which may run while a batch is being written out; every write and the batch's end take one lock, so
/// frames never interleave and none is left behind.
/// </remarks>
internal sealed class CoalescingStream(Stream inner) : Stream
{
    /// <summary>A batch larger than this is written out as it grows.</summary>
    public const int MaxBatchBytes = 64 * 1024;

    private readonly SemaphoreSlim _lock = new(1, 1);
    private byte[]? _pending;
    private int _length;
    private bool _batching;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Starts gathering writes (the send loop has more than one frame to send).</summary>
    public async ValueTask BeginBatchAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        _batching = true;
        _lock.Release();
    }

    /// <summary>Writes what was gathered in one write and stops gathering.</summary>
    public async ValueTask EndBatchAsync(CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _batching = false;
            await WritePendingAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_batching && _length + buffer.Length <= MaxBatchBytes)
            {
                Append(buffer.Span);
                return;
            }

            await WritePendingAsync(cancellationToken).ConfigureAwait(false);
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    /// <summary>Within a batch a flush waits for the batch's end; otherwise it is the inner stream's.</summary>
    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_batching)
            {
                await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            ReturnPending();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        ReturnPending();
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_pending is null || _length + bytes.Length > _pending.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_length + bytes.Length, Math.Min(MaxBatchBytes, Math.Max(4096, (_pending?.Length ?? 0) * 2))));
            _pending?.AsSpan(0, _length).CopyTo(larger);
            if (_pending is not null)
            {
                ArrayPool<byte>.Shared.Return(_pending);
            }

            _pending = larger;
        }

        bytes.CopyTo(_pending.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>Writes what was gathered and gives its buffer back to the pool (called under the lock).</summary>
    private async ValueTask WritePendingAsync(CancellationToken cancellationToken)
    {
        if (_pending is not { } pending)
        {
            return;
        }

        try
        {
            if (_length > 0)
            {
                await inner.WriteAsync(pending.AsMemory(0, _length), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _pending = null;
            _length = 0;
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    private void ReturnPending()
    {
        if (Interlocked.Exchange(ref _pending, null) is { } pending)
        {
            ArrayPool<byte>.Shared.Return(pending);
        }
    }
}
