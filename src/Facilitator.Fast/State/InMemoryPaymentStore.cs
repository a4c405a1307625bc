namespace Facilitator.Fast.State;

/// <summary>
/// The embedded payment store, for an instance running alone: records in a dictionary under one lock, bounded in bytes.
/// Open payments (verified, settling) are never dropped — when only they fill the bound, new payments are refused
/// (<see cref="PaymentCreateOutcome.Full"/>, answered 503) — and final ones are dropped oldest first to make room, or once
/// <c>RetentionDays</c> past their <c>validBefore</c>. Everything is lost on restart; the start-up log says so.
/// </summary>
public sealed class InMemoryPaymentStore(TimeProvider time, long maxBytes, TimeSpan retention) : IPaymentStore
{
    private readonly Dictionary<Guid, PaymentRecord> _records = [];
    private readonly SortedSet<(long DueMs, Guid Id)> _due = [];
    private readonly Dictionary<Guid, long> _dueAt = [];
    private readonly SortedSet<(long DropMs, Guid Id)> _final = [];
    private readonly Lock _gate = new();
    private long _bytes;

    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    public ValueTask<PaymentCreateResult> CreateAsync(PaymentRecord record, TimeSpan dueIn)
    {
        var now = NowMs;
        lock (_gate)
        {
            DropExpired(now);
            if (_records.TryGetValue(record.Id, out var existing))
            {
                if (existing.Fingerprint == record.Fingerprint || existing.IsOpen)
                {
                    return ValueTask.FromResult(new PaymentCreateResult(PaymentCreateOutcome.Existing, existing));
                }

                Remove(existing);
            }

            if (!MakeRoom(record.CountedBytes))
            {
                return ValueTask.FromResult(new PaymentCreateResult(PaymentCreateOutcome.Full, null));
            }

            Add(record);
            SetDue(record.Id, now + (long)dueIn.TotalMilliseconds);
            return ValueTask.FromResult(new PaymentCreateResult(PaymentCreateOutcome.Created, record));
        }
    }

    public ValueTask<PaymentRecord?> GetAsync(Guid id)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_records.GetValueOrDefault(id));
        }
    }

    public ValueTask<PaymentTransition> TransitionAsync(PaymentStatusSet allowedBefore, PaymentRecord next)
    {
        lock (_gate)
        {
            if (!_records.TryGetValue(next.Id, out var current))
            {
                return ValueTask.FromResult(new PaymentTransition(false, null));
            }

            if (!allowedBefore.Contains(current.Status) || current.Fingerprint != next.Fingerprint)
            {
                return ValueTask.FromResult(new PaymentTransition(false, current));
            }

            Remove(current);
            Add(next);
            return ValueTask.FromResult(new PaymentTransition(true, next));
        }
    }

    public ValueTask<IReadOnlyList<Guid>> TakeDueAsync(int limit, TimeSpan lease)
    {
        var now = NowMs;
        var taken = new List<Guid>();
        lock (_gate)
        {
            DropExpired(now);
            foreach (var (dueMs, id) in _due)
            {
                if (dueMs > now || taken.Count == limit)
                {
                    break;
                }

                taken.Add(id);
            }

            foreach (var id in taken)
            {
                SetDue(id, now + (long)lease.TotalMilliseconds);
            }
        }

        return ValueTask.FromResult<IReadOnlyList<Guid>>(taken);
    }

    public ValueTask CompleteAsync(Guid id)
    {
        lock (_gate)
        {
            if (_dueAt.Remove(id, out var dueMs))
            {
                _due.Remove((dueMs, id));
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<long> CountOpenAsync()
    {
        lock (_gate)
        {
            return ValueTask.FromResult((long)_dueAt.Count);
        }
    }

    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    private void SetDue(Guid id, long dueMs)
    {
        if (_dueAt.Remove(id, out var previous))
        {
            _due.Remove((previous, id));
        }

        _dueAt[id] = dueMs;
        _due.Add((dueMs, id));
    }

    private void Add(PaymentRecord record)
    {
        _records[record.Id] = record;
        _bytes += record.CountedBytes;
        if (!record.IsOpen)
        {
            _final.Add((DropAtMs(record), record.Id));
        }
    }

    private void Remove(PaymentRecord record)
    {
        _records.Remove(record.Id);
        _bytes -= record.CountedBytes;
        if (!record.IsOpen)
        {
            _final.Remove((DropAtMs(record), record.Id));
        }
    }

    private long DropAtMs(PaymentRecord record) => (record.ValidBefore * 1000) + (long)retention.TotalMilliseconds;

    /// <summary>Drops final records, soonest-to-lapse first, until <paramref name="needed"/> more bytes fit; false if they cannot.</summary>
    private bool MakeRoom(long needed)
    {
        while (_bytes + needed > maxBytes && _final.Count > 0)
        {
            var (_, id) = _final.Min;
            Remove(_records[id]);
            CompleteDue(id);
        }

        return _bytes + needed <= maxBytes;
    }

    private void DropExpired(long now)
    {
        while (_final.Count > 0 && _final.Min.DropMs <= now)
        {
            var (_, id) = _final.Min;
            Remove(_records[id]);
            CompleteDue(id);
        }
    }

    private void CompleteDue(Guid id)
    {
        if (_dueAt.Remove(id, out var dueMs))
        {
            _due.Remove((dueMs, id));
        }
    }
}
