using System.Collections.Concurrent;

namespace Facilitator.Fast.State;

/// <summary>
/// The embedded settlement ledger, for an instance running alone: entries in a concurrent dictionary, each changed
/// under its own small lock (the settle path only, never the routing path), waiters on a task per claim, expired
/// entries swept as new ones arrive.
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
            var claimId = NewClaimId();
            var fresh = new Entry(InFlight(null, claimId, now), expiresAt);
            var entry = _entries.GetOrAdd(key, fresh);
            if (ReferenceEquals(entry, fresh))
            {
                return ValueTask.FromResult(SettlementClaim.Own(claimId));
            }

            lock (entry)
            {
                if (entry.ExpiresAt > now && !entry.Removed)
                {
                    return ValueTask.FromResult(SettlementClaim.Taken(entry.Record));
                }
            }

            Remove(key, entry);
        }
    }

    public ValueTask<SettlementClaim> ClaimPendingAsync(string key, string holderId, DateTimeOffset expiresAt)
    {
        var now = _time.GetUtcNow();
        if (!_entries.TryGetValue(key, out var entry))
        {
            return ClaimAsync(key, expiresAt, CancellationToken.None);
        }

        lock (entry)
        {
            if (entry.Record.State != SettlementState.Pending)
            {
                return ValueTask.FromResult(SettlementClaim.Taken(entry.Record));
            }

            var claimId = NewClaimId();
            entry.Set(InFlight(holderId, claimId, now), Later(entry.ExpiresAt, expiresAt));
            return ValueTask.FromResult(SettlementClaim.Own(claimId));
        }
    }

    public ValueTask<SettlementRecord?> FindAsync(string key) =>
        ValueTask.FromResult(_entries.TryGetValue(key, out var entry) && entry.ExpiresAt > _time.GetUtcNow() ? entry.Record : null);

    public ValueTask RecordAsync(string key, string claimId, SettlementRecord record, DateTimeOffset expiresAt)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            lock (entry)
            {
                if (entry.Record.ClaimId == claimId && !entry.Removed)
                {
                    entry.Set(record, Later(entry.ExpiresAt, expiresAt));
                    entry.Wake(record);
                }
            }
        }
        else
        {
            // The claim was swept or the entry came from elsewhere: keep what is known.
            _entries.TryAdd(key, new Entry(record, expiresAt));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask ReleaseAsync(string key, string claimId)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            lock (entry)
            {
                if (entry.Record.ClaimId != claimId || entry.Record.State != SettlementState.InFlight)
                {
                    return ValueTask.CompletedTask;
                }

                if (entry.Record.UpstreamId is { } holder)
                {
                    // A retry on a holder that provably did not process it: it is still pending there.
                    var pending = new SettlementRecord(SettlementState.Pending, holder, 0, null, null, _time.GetUtcNow());
                    entry.Set(pending, entry.ExpiresAt);
                    entry.Wake(pending);
                    return ValueTask.CompletedTask;
                }

                entry.Removed = true;
                entry.Wake(null);
            }

            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask<SettlementRecord?> WaitAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            return null;
        }

        Task<SettlementRecord?> completion;
        SettlementRecord current;
        lock (entry)
        {
            current = entry.Record;
            if (current.State != SettlementState.InFlight)
            {
                return current;
            }

            completion = entry.Completion.Task;
        }

        try
        {
            return await completion.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return current;
        }
    }

    private static SettlementRecord InFlight(string? holder, string claimId, DateTimeOffset now) =>
        new(SettlementState.InFlight, holder, 0, null, null, now, claimId);

    private static string NewClaimId() => Guid.NewGuid().ToString("N");

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private void Remove(string key, Entry entry)
    {
        lock (entry)
        {
            entry.Removed = true;
            entry.Wake(null);
        }

        _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
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
                Remove(key, entry);
            }
        }

        var excess = _entries.Count - _maxEntries;
        if (excess > 0)
        {
            foreach (var (key, entry) in _entries.Where(static e => e.Value.Record.State == SettlementState.Finished)
                         .OrderBy(static e => e.Value.Record.Since).Take(excess).ToList())
            {
                Remove(key, entry);
            }
        }
    }

    private sealed class Entry(SettlementRecord record, DateTimeOffset expiresAt)
    {
        public SettlementRecord Record { get; private set; } = record;

        public DateTimeOffset ExpiresAt { get; private set; } = expiresAt;

        public bool Removed { get; set; }

        public TaskCompletionSource<SettlementRecord?> Completion { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Set(SettlementRecord next, DateTimeOffset expiresAt)
        {
            Record = next;
            ExpiresAt = expiresAt;
            if (next.State == SettlementState.InFlight && Completion.Task.IsCompleted)
            {
                Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public void Wake(SettlementRecord? record) => Completion.TrySetResult(record);
    }
}
