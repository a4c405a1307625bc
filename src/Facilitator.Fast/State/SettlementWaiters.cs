namespace Facilitator.Fast.State;

/// <summary>
/// Callers waiting for another caller's settlement of the same authorization, by key: a write to the key (local, or
/// announced by another instance over Redis pub/sub) wakes them, so no waiter polls the store in a tight loop.
/// </summary>
/// <remarks>
/// A waiter listens <em>before</em> it reads the record, so a change between its read and its wait is not lost. One
/// signal per key is shared by its listeners and removed when the last one leaves, so memory follows the number of
/// keys being waited on.
/// </remarks>
public sealed class SettlementWaiters
{
    private readonly Dictionary<Sha256Hash, Signal> _signals = [];
    private readonly Lock _gate = new();

    /// <summary>Keys with at least one listener.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _signals.Count;
            }
        }
    }

    /// <summary>Starts listening for the next change of <paramref name="key"/>.</summary>
    public ChangeListener Listen(Sha256Hash key)
    {
        lock (_gate)
        {
            if (!_signals.TryGetValue(key, out var signal))
            {
                signal = new Signal();
                _signals.Add(key, signal);
            }

            signal.Listeners++;
            return new ChangeListener(this, key, signal);
        }
    }

    /// <summary>Wakes every listener of <paramref name="key"/>.</summary>
    public void Notify(Sha256Hash key)
    {
        Signal? signal;
        lock (_gate)
        {
            if (!_signals.Remove(key, out signal))
            {
                return;
            }
        }

        signal.Changed.TrySetResult();
    }

    private void Leave(Sha256Hash key, Signal signal)
    {
        lock (_gate)
        {
            if (--signal.Listeners == 0 && _signals.TryGetValue(key, out var current) && ReferenceEquals(current, signal))
            {
                _signals.Remove(key);
            }
        }
    }

    internal sealed class Signal
    {
        public TaskCompletionSource Changed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Listeners { get; set; }
    }

    /// <summary>One listener of one key; dispose it when done waiting.</summary>
    public sealed class ChangeListener : IDisposable
    {
        private readonly SettlementWaiters _owner;
        private readonly Sha256Hash _key;
        private readonly Signal _signal;
        private int _disposed;

        internal ChangeListener(SettlementWaiters owner, Sha256Hash key, Signal signal)
        {
            _owner = owner;
            _key = key;
            _signal = signal;
        }

        /// <summary>True when the key changed before <paramref name="timeout"/>; false on timeout or cancellation. Never throws.</summary>
        public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
        {
            try
            {
                await _signal.Changed.Task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Leave(_key, _signal);
            }
        }
    }
}
