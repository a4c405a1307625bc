using Facilitator.Fast.Events;

namespace Facilitator.Fast.Tests.Events;

public sealed class FrameQueueTests
{
    private static EventFrame Frame() => new(new byte[8], 0, 8, EventChannel.Payments);

    [Fact]
    public void TryRead_AfterWritesPastTheInitialSizeAndAWrap_ReturnsThemInOrder()
    {
        var queue = new FrameQueue(32, dropOldest: false);
        var written = new List<EventFrame>();
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < 3 + round; i++)
            {
                var frame = Frame();
                written.Add(frame);
                Assert.True(queue.TryWrite(frame, out var dropped));
                Assert.Null(dropped);
            }

            for (var i = 0; i < 2; i++)
            {
                Assert.True(queue.TryRead(out var frame));
                Assert.Same(written[0], frame);
                written.RemoveAt(0);
            }
        }

        Assert.Equal(written.Count, queue.Count);
        foreach (var expected in written)
        {
            Assert.True(queue.TryRead(out var frame));
            Assert.Same(expected, frame);
        }

        Assert.False(queue.TryRead(out _));
    }

    [Fact]
    public void TryWrite_FullWithoutDropping_RefusesAndKeepsTheQueue()
    {
        var queue = new FrameQueue(2, dropOldest: false);
        var first = Frame();
        Assert.True(queue.TryWrite(first, out _));
        Assert.True(queue.TryWrite(Frame(), out _));

        Assert.False(queue.TryWrite(Frame(), out var dropped));

        Assert.Null(dropped);
        Assert.Equal(2, queue.Count);
        Assert.True(queue.TryRead(out var head));
        Assert.Same(first, head);
    }

    [Fact]
    public void TryWrite_FullUnderDropOldest_TakesTheFrameAndHandsBackTheOldest()
    {
        var queue = new FrameQueue(2, dropOldest: true);
        var (a, b, c) = (Frame(), Frame(), Frame());
        queue.TryWrite(a, out _);
        queue.TryWrite(b, out _);

        Assert.True(queue.TryWrite(c, out var dropped));

        Assert.Same(a, dropped);
        Assert.True(queue.TryRead(out var first));
        Assert.True(queue.TryRead(out var second));
        Assert.Equal([b, c], [first, second]);
    }

    [Fact]
    public async Task WaitToReadAsync_AfterComplete_DrainsWhatIsQueuedThenAnswersFalse()
    {
        var queue = new FrameQueue(4, dropOldest: true);
        var frame = Frame();
        queue.TryWrite(frame, out _);

        Assert.True(queue.Complete());
        Assert.False(queue.Complete());
        Assert.False(queue.TryWrite(Frame(), out _));

        Assert.True(await queue.WaitToReadAsync());
        Assert.True(queue.TryRead(out var read));
        Assert.Same(frame, read);
        Assert.False(await queue.WaitToReadAsync());
    }

    [Fact]
    public async Task WaitToReadAsync_EmptyQueue_CompletesWhenWrittenAndWhenCompleted()
    {
        var queue = new FrameQueue(4, dropOldest: false);

        var waiting = queue.WaitToReadAsync();
        Assert.False(waiting.IsCompleted);
        queue.TryWrite(Frame(), out _);
        Assert.True(await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(queue.TryRead(out _));

        waiting = queue.WaitToReadAsync();
        Assert.False(waiting.IsCompleted);
        queue.Complete();
        Assert.False(await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task TryWrite_ManyWritersOneWaitingReader_EveryFrameReadOnce()
    {
        const int writers = 4;
        const int perWriter = 20_000;
        var queue = new FrameQueue(64, dropOldest: false);
        var seen = new HashSet<EventFrame>(ReferenceEqualityComparer.Instance);
        var reader = Task.Run(async () =>
        {
            while (await queue.WaitToReadAsync())
            {
                while (queue.TryRead(out var frame))
                {
                    Assert.True(seen.Add(frame));
                }
            }
        });

        await Task.WhenAll(Enumerable.Range(0, writers).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < perWriter; i++)
            {
                var frame = Frame();
                while (!queue.TryWrite(frame, out _))
                {
                    await Task.Yield();
                }
            }
        })));
        queue.Complete();
        await reader.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(writers * perWriter, seen.Count);
    }
}
