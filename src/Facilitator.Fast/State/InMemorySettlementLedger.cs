using System.Collections.Concurrent;

namespace Facilitator.Fast.State;

/// <summary>
/// The embedded settlement ledger, for an instance running alone: entries in a concurrent dictionary, waiters on a
/// task per entry, expired entries swept as new ones arrive.
/// </summary>
/// <remarks>
/// Memory is bounded by <c>maxEntries</c>: beyond it, finished entries are dropped oldest first (a repeat of a
/// dropped one goes upstream again, where the spent nonce refuses it); in-flight and pending entries are never
/// dropped before they expire, because they are what keeps a settlement from reaching a second upstream.
/// </remarks>
public sealed class InMemorySettlementLedger : ISettlementLedger
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int _maxEntries;
    private long _nextSweepTicks;

    public InMemorySettlementLedger(TimeProvider time, int maxEntries = 100_000)
    {
        _time = time;
        _maxEntries = maxEntries;
    }

    public int Count => _entries.Count;

    public ValueTask<SettlementClaim> ClaimAsync(string key, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        SweepIfDue(now);
        while (true)
        {
            var fresh = new Entry(new SettlementRecord(SettlementState.InFlight, null, 0, null, null, now), expiresAt);
            var entry = _entries.GetOrAdd(key, fresh);
            if (ReferenceEquals(entry, fresh))
            {
                return ValueTask.FromResult(new SettlementClaim(true, null));
            }

            if (entry.ExpiresAt > now)
            {
                return ValueTask.FromResult(new SettlementClaim(false, entry.Record));
            }

            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        }
    }

    public ValueTask<SettlementRecord?> FindAsync(string key) =>
        ValueTask.FromResult(_entries.TryGetValue(key, out var entry) && entry.ExpiresAt > _time.GetUtcNow() ? entry.Record : null);

    public ValueTask RecordAsync(string key, SettlementRecord record, DateTimeOffset expiresAt)
    {
        var entry = _entries.AddOrUpdate(
            key,
            static (_, state) => new Entry(state.record, state.expiresAt),
            static (_, existing, state) => existing.With(state.record, state.expiresAt),
            (record, expiresAt));
        entry.Completion.TrySetResult(record);
        return ValueTask.CompletedTask;
    }

    public ValueTask ReleaseAsync(string key)
    {
        if (_entries.TryRemove(key, out var entry))
        {
            entry.Completion.TrySetResult(null);
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask<SettlementRecord?> WaitAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            return null;
        }

        if (entry.Record.State != SettlementState.InFlight)
        {
            return entry.Record;
        }

        try
        {
            return await entry.Completion.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return entry.Record;
        }
    }

    private void SweepIfDue(DateTimeOffset now)
    {
        var due = Volatile.Read(ref _nextSweepTicks);
        if ((now.UtcTicks < due && _entries.Count <= _maxEntries)
            || Interlocked.CompareExchange(ref _nextSweepTicks, now.UtcTicks + TimeSpan.TicksPerSecond * 10, due) != due)
        {
            return;
        }

        foreach (var (key, entry) in _entries)
        {
            if (entry.ExpiresAt <= now)
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }

        var excess = _entries.Count - _maxEntries;
        if (excess > 0)
        {
            foreach (var (key, entry) in _entries.Where(static e => e.Value.Record.State == SettlementState.Finished)
                         .OrderBy(static e => e.Value.Record.Since).Take(excess).ToList())
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }
    }

    private sealed class Entry(SettlementRecord record, DateTimeOffset expiresAt)
    {
        public SettlementRecord Record { get; private set; } = record;

        public DateTimeOffset ExpiresAt { get; private set; } = expiresAt;

        public TaskCompletionSource<SettlementRecord?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Entry With(SettlementRecord next, DateTimeOffset expiresAt)
        {
            Record = next;
            ExpiresAt = expiresAt;
            return this;
        }
    }
}
