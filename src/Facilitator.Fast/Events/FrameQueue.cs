using System.Threading.Tasks.Sources;

namespace Facilitator.Fast.Events;

/// <summary>
/// A subscriber's bounded queue of frames: many writers (the pump, the receiver's answers) that never wait, one reader
/// (the connection's send loop) that waits without allocating. It exists instead of a bounded <c>Channel</c> because it
/// is held once per connection — ten thousand idle subscribers — and costs a fraction of one: an array that grows with
/// use up to the capacity, and one reusable wait.
/// </summary>
/// <remarks>
/// When full, <see cref="TryWrite"/> either refuses the frame or, under drop-oldest, takes it and hands back the oldest
/// for the caller to release outside the lock. After <see cref="Complete"/> nothing more is taken, and the reader still
/// drains what is queued; <see cref="WaitToReadAsync"/> then answers false once the queue is empty. The reader's
/// continuation never runs on a writer's thread.
/// </remarks>
internal sealed class FrameQueue : IValueTaskSource<bool>
{
    private const int InitialSize = 4;

    private readonly Lock _lock = new();
    private readonly int _capacity;
    private readonly bool _dropOldest;
    private EventFrame[] _items = [];
    private int _head;
    private int _count;
    private bool _completed;
    private bool _readerWaiting;
    private ManualResetValueTaskSourceCore<bool> _wait = new() { RunContinuationsAsynchronously = true };

    public FrameQueue(int capacity, bool dropOldest)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _dropOldest = dropOldest;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="frame"/>; false when completed, or full and not dropping. Under drop-oldest a full queue
    /// takes it and returns its oldest frame in <paramref name="dropped"/>, which the caller now owns.
    /// </summary>
    public bool TryWrite(EventFrame frame, out EventFrame? dropped)
    {
        dropped = null;
        bool wake;
        lock (_lock)
        {
            if (_completed)
            {
                return false;
            }

            if (_count == _capacity)
            {
                if (!_dropOldest)
                {
                    return false;
                }

                dropped = _items[_head];
                _items[_head] = null!;
                _head = (_head + 1) % _items.Length;
                _count--;
            }
            else if (_count == _items.Length)
            {
                Grow();
            }

            _items[(_head + _count) % _items.Length] = frame;
            _count++;
            wake = _readerWaiting;
            _readerWaiting = false;
        }

        if (wake)
        {
            _wait.SetResult(true);
        }

        return true;
    }

    /// <summary>Takes the oldest frame; false when none is queued.</summary>
    public bool TryRead(out EventFrame frame)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                frame = null!;
                return false;
            }

            frame = _items[_head];
            _items[_head] = null!;
            _head = (_head + 1) % _items.Length;
            _count--;
            return true;
        }
    }

    /// <summary>True when a frame can be read; false once the queue is completed and empty. One reader at a time.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_lock)
        {
            if (_count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _wait.Reset();
            _readerWaiting = true;
            return new ValueTask<bool>(this, _wait.Version);
        }
    }

    /// <summary>Takes nothing more; the reader drains what is queued. True the first time.</summary>
    public bool Complete()
    {
        bool wake;
        lock (_lock)
        {
            if (_completed)
            {
                return false;
            }

            _completed = true;
            wake = _readerWaiting;
            _readerWaiting = false;
        }

        if (wake)
        {
            _wait.SetResult(false);
        }

        return true;
    }

    private void Grow()
    {
        var grown = new EventFrame[Math.Min(Math.Max(_items.Length * 2, InitialSize), _capacity)];
        for (var i = 0; i < _count; i++)
        {
            grown[i] = _items[(_head + i) % _items.Length];
        }

        _items = grown;
        _head = 0;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);
}
