using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;

namespace Facilitator.Fast.Events;

/// <summary>
/// The upgraded connection's stream, under the WebSocket: while the send loop drains a batch of queued frames, the
/// WebSocket's writes are gathered in one pooled buffer and reach the socket in one write when the batch ends, instead
/// of one write (and one system call) per message. Outside a batch a write goes straight through. Nothing is held
/// between batches, so an idle connection keeps no buffer. Given the connection's socket (plain HTTP/1.1), it moves its
/// writes from Kestrel's output pipe to the socket itself once that is proven safe.
/// </summary>
/// <remarks>
/// <para>
/// Writes come from the send loop (each a whole frame) and from the WebSocket's own pings, pongs and close (each a whole
/// frame too), which may run while a batch is being written out; every write and the batch's end take one lock, so
/// frames never interleave and none is left behind.
/// </para>
/// <para>
/// Direct writes skip Kestrel's pipe and the hop to its I/O thread, about a tenth of what a message costs the service.
/// Kestrel wrote the 101 answer (and whatever this stream gave it since) into its pipe, and nothing says when its I/O
/// thread has handed that to the socket: a byte written to the socket before then would overtake it. So the stream
/// proves it: when the send loop is idle it writes a ping through Kestrel (<see cref="ProbeAsync"/>), and a pong with
/// that ping's payload — which the client sends only after reading everything before the ping — while nothing has been
/// written through Kestrel since, means Kestrel's pipe is empty; from the next write on, everything goes to the socket.
/// The WebSocket ignores a pong it did not ask for. A client that never answers stays on Kestrel's path.
/// </para>
/// </remarks>
internal sealed class CoalescingStream(Stream inner, Socket? socket = null) : Stream
{
    /// <summary>A batch larger than this is written out as it grows.</summary>
    public const int MaxBatchBytes = 64 * 1024;

    /// <summary>Pings sent to prove Kestrel's pipe empty, at most; a client whose pongs always come too late stays on Kestrel's path.</summary>
    public const int MaxProbes = 16;

    private readonly SemaphoreSlim _lock = new(1, 1);
    private PongWatcher _pongs;
    private CancellationTokenSource? _aborted;
    private volatile bool _abortRequested;
    private byte[]? _pending;
    private int _length;
    private bool _batching;
    private volatile bool _direct;
    private long _kestrelWrites;
    private long _probePayload;
    private long _probeWrites = -1;
    private int _probes;
    private long _answeredPayload;

    /// <summary>Whether writes now go to the socket itself (see the remarks).</summary>
    public bool IsDirect => _direct;

    /// <summary>Whether the client answered the current probe's ping.</summary>
    private bool ProbeAnswered => Interlocked.Read(ref _answeredPayload) == Interlocked.Read(ref _probePayload);

    /// <summary>Pongs with an 8-byte payload read from the client so far (any ping's).</summary>
    public long PongsSeen => _pongs.Pongs;

    /// <summary>Told once, when writes move to the socket.</summary>
    public Action? WentDirect { get; set; }

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
            await WriteOutAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

    /// <summary>
    /// The inner stream's read, watched for the probe's pong only while that can matter; the WebSocket's zero-byte read
    /// of an idle connection goes straight through, holding nothing of this stream while it waits.
    /// </summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        buffer.IsEmpty || socket is null || _direct ? inner.ReadAsync(buffer, cancellationToken) : ReadObservedAsync(buffer, cancellationToken);

    private async ValueTask<int> ReadObservedAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Observe(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
    {
        var read = inner.Read(buffer, offset, count);
        Observe(buffer.AsSpan(offset, read));
        return read;
    }

    /// <summary>
    /// While writes still go through Kestrel and no ping of this stream's is awaiting its pong, writes one (through
    /// Kestrel, after everything written so far); its pong, with nothing written through Kestrel in between, moves the
    /// writes to the socket. Called by the send loop when it has nothing to send.
    /// </summary>
    public async ValueTask ProbeAsync()
    {
        if (socket is null || _direct || _probes >= MaxProbes || (Volatile.Read(ref _probeWrites) >= 0 && !ProbeAnswered))
        {
            return;
        }

        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_direct || _batching || (_probeWrites >= 0 && !ProbeAnswered))
            {
                return;
            }

            var ping = new byte[10];
            ping[0] = 0x89;
            ping[1] = 8;
            var payload = Random.Shared.NextInt64(1, long.MaxValue);
            BinaryPrimitives.WriteInt64BigEndian(ping.AsSpan(2), payload);
            _probes++;
            Volatile.Write(ref _probePayload, payload);
            await WriteOutAsync(ping, CancellationToken.None).ConfigureAwait(false);
            Volatile.Write(ref _probeWrites, _kestrelWrites);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Within a batch a flush waits for the batch's end; otherwise it is the inner stream's (a direct write has nothing to flush).</summary>
    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_batching && !_direct)
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
            Abort();
            ReturnPending();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        Abort();
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
                await WriteOutAsync(pending.AsMemory(0, _length), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _pending = null;
            _length = 0;
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    /// <summary>
    /// Writes through Kestrel, or to the socket once that is proven safe (under the lock: the switch happens between two
    /// writes, never during one).
    /// </summary>
    private async ValueTask WriteOutAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_direct && ProbeAnswered && _kestrelWrites == Volatile.Read(ref _probeWrites))
        {
            Volatile.Write(ref _aborted, new CancellationTokenSource());
            _direct = true;
            WentDirect?.Invoke();
        }

        if (!_direct)
        {
            _kestrelWrites++;
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_abortRequested)
        {
            throw new ObjectDisposedException(nameof(CoalescingStream));
        }

        try
        {
            using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _aborted!.Token) : null;
            var token = linked?.Token ?? _aborted!.Token;
            while (!buffer.IsEmpty)
            {
                buffer = buffer[await socket!.SendAsync(buffer, SocketFlags.None, token).ConfigureAwait(false)..];
            }
        }
        catch (SocketException ex)
        {
            throw new IOException("The event stream's connection failed while sending.", ex);
        }
    }

    /// <summary>A pong answering this stream's ping, with nothing written through Kestrel since, lets the next write go direct.</summary>
    private void Observe(ReadOnlySpan<byte> read)
    {
        if (socket is null || _direct || read.IsEmpty)
        {
            return;
        }

        var before = _pongs.Pongs;
        _pongs.Observe(read);
        if (_pongs.Pongs != before && _pongs.LastPong == Interlocked.Read(ref _probePayload))
        {
            // Only the current probe's payload counts (each is random): a late pong of an earlier probe can never stand
            // for a later one, and a pong to the WebSocket's own keep-alive ping read after the probe's never hides it.
            Interlocked.Exchange(ref _answeredPayload, _pongs.LastPong);
        }
    }

    /// <summary>Cancels a direct write under way (the connection is being torn down; a stalled peer must not hold it).</summary>
    private void Abort()
    {
        _abortRequested = true;
        try
        {
            Volatile.Read(ref _aborted)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
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
