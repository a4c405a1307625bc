using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;

namespace Facilitator.Fast.Tests.Protocol;

/// <summary>The pooled request body goes back to the pool only when its owner and every upstream request reading it are done.</summary>
public sealed class PooledBytesTests
{
    private static PooledBytes Filled(int length)
    {
        var bytes = new PooledBytes(length);
        Enumerable.Repeat((byte)7, length).ToArray().CopyTo(bytes.GetWritableMemory(length));
        bytes.Advance(length);
        return bytes;
    }

    [Fact]
    public async Task Dispose_WhileAnUpstreamRequestStillSendsIt_ReleasedOnlyWhenTheSendEnds()
    {
        var body = Filled(64 * 1024);
        var content = new PooledBytesContent(body);
        var stalled = new StalledStream();
        var sending = content.CopyToAsync(stalled);
        await stalled.Started.Task;

        body.Dispose();
        content.Dispose();
        Assert.False(body.IsReleased);

        stalled.Release.SetResult();
        await sending;
        Assert.True(body.IsReleased);
        Assert.True(stalled.Written.All(static b => b == 7));
    }

    [Fact]
    public void Dispose_TwiceByTheOwner_DoesNotDropTheRequestsReference()
    {
        var body = Filled(1024);
        using var content = new PooledBytesContent(body);

        body.Dispose();
        body.Dispose();

        Assert.False(body.IsReleased);
        content.Dispose();
        Assert.True(body.IsReleased);
    }

    [Fact]
    public async Task CopyTo_AfterTheContentWasDisposed_Throws()
    {
        using var body = Filled(16);
        var content = new PooledBytesContent(body);
        content.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => content.CopyToAsync(Stream.Null));
    }

    /// <summary>A stream whose first write blocks until the test lets it go, as a socket with a full send buffer does.</summary>
    private sealed class StalledStream : Stream
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<byte> Written { get; } = [];

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Started.TrySetResult();
            await Release.Task;
            Written.AddRange(buffer.ToArray());
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
