using Facilitator.Fast.Events;

namespace Facilitator.Fast.Tests.Events;

/// <summary>Writes gathered during a batch reach the connection as one write, in order, and nothing is held between batches.</summary>
public sealed class CoalescingStreamTests
{
    /// <summary>Records each write it is given.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        public List<byte[]> Writes { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (Writes)
            {
                Writes.Add(buffer.ToArray());
            }

            return base.WriteAsync(buffer, cancellationToken);
        }
    }

    [Fact]
    public async Task Batch_ManyWrites_OneWriteInOrder()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner);

        await stream.BeginBatchAsync();
        for (byte i = 0; i < 10; i++)
        {
            await stream.WriteAsync(new[] { i, i });
        }

        Assert.Empty(inner.Writes);
        await stream.EndBatchAsync();

        var write = Assert.Single(inner.Writes);
        Assert.Equal(Enumerable.Range(0, 10).SelectMany(i => new[] { (byte)i, (byte)i }), write);
    }

    [Fact]
    public async Task OutsideABatch_EachWriteGoesStraightThrough()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner);

        await stream.WriteAsync(new byte[] { 1 });
        await stream.WriteAsync(new byte[] { 2 });

        Assert.Equal(2, inner.Writes.Count);
    }

    [Fact]
    public async Task Batch_LargerThanItsBound_WrittenOutAsItGrows_NothingLost()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner);
        var chunk = new byte[10_000];

        await stream.BeginBatchAsync();
        for (var i = 0; i < 20; i++)
        {
            chunk.AsSpan().Fill((byte)i);
            await stream.WriteAsync(chunk);
        }

        await stream.EndBatchAsync();

        Assert.All(inner.Writes, w => Assert.True(w.Length <= CoalescingStream.MaxBatchBytes));
        Assert.Equal(200_000, inner.Length);
        var all = inner.ToArray();
        Assert.All(Enumerable.Range(0, 20), i => Assert.True(all.AsSpan(i * 10_000, 10_000).IndexOfAnyExcept((byte)i) < 0));
    }

    [Fact]
    public async Task WritesFromAnotherThread_DuringBatches_NeverInterleavedWithinAWrite()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner);
        var pings = Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
            {
                await stream.WriteAsync(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF });
            }
        });

        for (var batch = 0; batch < 200; batch++)
        {
            await stream.BeginBatchAsync();
            await stream.WriteAsync(new byte[] { 1, 1, 1, 1 });
            await stream.WriteAsync(new byte[] { 2, 2, 2, 2 });
            await stream.EndBatchAsync();
        }

        await pings;
        var all = inner.ToArray();
        Assert.Equal((500 + 400) * 4, all.Length);
        for (var i = 0; i < all.Length; i += 4)
        {
            Assert.True(all.AsSpan(i, 4).IndexOfAnyExcept(all[i]) < 0, $"the write at {i} is whole");
        }
    }
}
