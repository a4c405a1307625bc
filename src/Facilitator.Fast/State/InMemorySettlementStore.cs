namespace Facilitator.Fast.State;

/// <summary>
/// The embedded settlement store, for an instance running alone (and as the local fallback of the Redis one): records
/// in a dictionary under one lock (the settle path only, never the routing path), expired as their time passes, with a
/// hard bound on the memory they take.
/// </summary>
/// <remarks>
/// <para>Memory is counted in bytes: a fixed allowance per record (key, record, strings, heap items) plus the stored
/// answer. When a write would pass <c>maxBytes</c>, finished records are dropped in expiry order (a repeat of a dropped
/// one goes upstream again, where the spent nonce refuses it); in-flight and pending records are never dropped before
/// they expire, because they are what keeps a settlement from reaching a second upstream, so when only they remain
/// the write is refused and the settle answered 503. Records of payments whose signature could not be checked (anyone
/// can send those) may take at most half of the bound, so a flood of them never leaves a real settlement without
/// room.</para>
/// <para>Expiry and eviction use priority queues (all records; finished records, checked and unchecked apart), each holding one live item per
/// record: a record whose time moves later keeps its item, which is moved to the new time when it surfaces; only a
/// time moved earlier adds an item, and the one it replaces is skipped as stale. The queues are rebuilt if stale items
/// ever outnumber the records, so no request sorts anything and the queues cannot outgrow the records.</para>
/// </remarks>
public sealed class InMemorySettlementStore : ISettlementStore
{
    /// <summary>What a record costs besides its answer bytes: dictionary slot, entry, record, claim id, queue items.</summary>
    public const int RecordOverheadBytes = 384;

    private const int QueueItemBytes = 48;

    private readonly Dictionary<Sha256Hash, Entry> _entries = [];
    private readonly PriorityQueue<Sha256Hash, long> _byExpiry = new();
    private readonly PriorityQueue<Sha256Hash, long> _finishedVerified = new();
    private readonly PriorityQueue<Sha256Hash, long> _finishedUnverified = new();
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly long _maxBytes;
    private long _recordBytes;
    private long _unverifiedBytes;
    private long _evicted;
    private long _evictedSuccessUntilMs;

    public InMemorySettlementStore(TimeProvider time, SettlementWaiters waiters, long maxBytes)
    {
        _time = time;
        Waiters = waiters;
        _maxBytes = maxBytes;
    }

    public SettlementWaiters Waiters { get; }

    /// <summary>The memory the records and queues are counted as taking; never above <see cref="MaxBytes"/>.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return CountedBytes;
            }
        }
    }

    public long MaxBytes => _maxBytes;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Finished records dropped to stay under <see cref="MaxBytes"/>.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>
    /// Until when (this store's clock, Unix milliseconds) a successful settlement dropped to make room would have been
    /// kept: before then, a key this store does not hold may be one it was told had settled.
    /// </summary>
    public long EvictedSuccessUntilMs => Interlocked.Read(ref _evictedSuccessUntilMs);

    private long CountedBytes => _recordBytes + (long)QueueItems * QueueItemBytes;

    private int QueueItems => _byExpiry.Count + _finishedVerified.Count + _finishedUnverified.Count;

    public ValueTask<StoredSettlement> ReadAsync(Sha256Hash key)
    {
        lock (_gate)
        {
            var now = NowMs();
            ExpireDue(now);
            var record = _entries.TryGetValue(key, out var entry) ? entry.Record : null;
            return ValueTask.FromResult(new StoredSettlement(record, record, now));
        }
    }

    public ValueTask<StoredSettlement?> ReplaceAsync(Sha256Hash key, StoredSettlement expected, SettlementRecord? next, TimeSpan keepFor, bool notify)
    {
        StoredSettlement stored;
        lock (_gate)
        {
            var now = NowMs();
            ExpireDue(now);
            _entries.TryGetValue(key, out var entry);
            if (!ReferenceEquals(entry?.Record, expected.Version))
            {
                return ValueTask.FromResult<StoredSettlement?>(null);
            }

            if (next is null)
            {
                if (entry is not null)
                {
                    Remove(key, entry);
                }
            }
            else
            {
                Write(key, entry, next, now + Math.Max((long)keepFor.TotalMilliseconds, 1));
            }

            stored = new StoredSettlement(next, next, now);
        }

        if (notify)
        {
            Waiters.Notify(key);
        }

        return ValueTask.FromResult<StoredSettlement?>(stored);
    }

    private void Write(Sha256Hash key, Entry? entry, SettlementRecord next, long expiresAtMs)
    {
        var size = RecordOverheadBytes + (next.Body?.Length ?? 0) + (next.ContentType?.Length ?? 0) * 2;
        if (size + 2L * QueueItemBytes > (next.Verified ? _maxBytes : _maxBytes / 2))
        {
            // Larger than the whole bound: refused before anything is evicted for it.
            throw new SettlementLedgerUnavailableException("The settlement record is larger than the ledger's bound (Settlement:MaxMemoryBytes).");
        }

        var unverifiedGrowth = (next.Verified ? 0 : size) - (entry is { Record.Verified: false } ? entry.Size : 0);
        if (unverifiedGrowth > 0 && !MakeRoom(unverifiedGrowth, key, unverifiedOnly: true))
        {
            throw new SettlementLedgerUnavailableException(
                "The settlement ledger's share for payments whose signature could not be checked is full; retry later.");
        }

        // Making room can rebuild the queues, which moves this record's items: what it adds is counted again after.
        for (var round = 0; ; round++)
        {
            var newItems = (expiresAtMs < (entry?.QueuedAtMs ?? long.MaxValue) ? 1 : 0)
                + (next.State == SettlementState.Finished && expiresAtMs < (entry?.FinishedQueuedAtMs ?? long.MaxValue) ? 1 : 0);
            var needed = size - (entry?.Size ?? 0) + (long)newItems * QueueItemBytes;
            if (CountedBytes + needed <= _maxBytes)
            {
                break;
            }

            if (round == 3 || !MakeRoom(needed, key))
            {
                throw new SettlementLedgerUnavailableException(
                    "The settlement ledger is full of settlements in flight or pending (Settlement:MaxMemoryBytes); retry later.");
            }
        }

        if (entry is null)
        {
            entry = new Entry();
            _entries.Add(key, entry);
        }

        _recordBytes += size - entry.Size;
        _unverifiedBytes += unverifiedGrowth;
        entry.Size = size;
        entry.Record = next;
        entry.ExpiresAtMs = expiresAtMs;

        // A later time needs no new item: the queued one, when it surfaces, is moved to the record's time then.
        if (expiresAtMs < entry.QueuedAtMs)
        {
            entry.QueuedAtMs = expiresAtMs;
            _byExpiry.Enqueue(key, expiresAtMs);
        }

        if (next.State == SettlementState.Finished && expiresAtMs < entry.FinishedQueuedAtMs)
        {
            entry.FinishedQueuedAtMs = expiresAtMs;
            FinishedQueue(next).Enqueue(key, expiresAtMs);
        }

        CompactIfStale();
    }

    /// <summary>
    /// Drops finished records, earliest expiry first, until <paramref name="needed"/> more bytes fit: in the whole bound,
    /// or with <paramref name="unverifiedOnly"/> in the share of unverified records, taking only those.
    /// </summary>
    private bool MakeRoom(long needed, Sha256Hash writing, bool unverifiedOnly = false)
    {
        var compacted = false;
        while (unverifiedOnly ? _unverifiedBytes + needed > _maxBytes / 2 : CountedBytes + needed > _maxBytes)
        {
            var queue = unverifiedOnly ? _finishedUnverified : EarliestFinishedQueue();
            if (!queue.TryDequeue(out var key, out var expiresAt))
            {
                if (compacted)
                {
                    return false;
                }

                Compact();
                compacted = true;
                continue;
            }

            if (!_entries.TryGetValue(key, out var entry) || entry.FinishedQueuedAtMs != expiresAt)
            {
                continue;
            }

            entry.FinishedQueuedAtMs = long.MaxValue;
            if (entry.Record!.State != SettlementState.Finished || key == writing)
            {
                continue;
            }

            if (entry.ExpiresAtMs > expiresAt)
            {
                // Its time moved on since it was queued: queue it at its time, to be taken in order.
                entry.FinishedQueuedAtMs = entry.ExpiresAtMs;
                queue.Enqueue(key, entry.ExpiresAtMs);
                continue;
            }

            if (entry.Record.Success && entry.ExpiresAtMs > _evictedSuccessUntilMs)
            {
                Interlocked.Exchange(ref _evictedSuccessUntilMs, entry.ExpiresAtMs);
            }

            Remove(key, entry);
            Interlocked.Increment(ref _evicted);
        }

        return true;
    }

    private PriorityQueue<Sha256Hash, long> EarliestFinishedQueue()
    {
        if (!_finishedUnverified.TryPeek(out _, out var unverified))
        {
            return _finishedVerified;
        }

        return _finishedVerified.TryPeek(out _, out var verified) && verified <= unverified ? _finishedVerified : _finishedUnverified;
    }

    private PriorityQueue<Sha256Hash, long> FinishedQueue(SettlementRecord record) => record.Verified ? _finishedVerified : _finishedUnverified;

    private void ExpireDue(long now)
    {
        while (_byExpiry.TryPeek(out var key, out var queuedAt) && queuedAt <= now)
        {
            _byExpiry.Dequeue();
            if (!_entries.TryGetValue(key, out var entry) || entry.QueuedAtMs != queuedAt)
            {
                continue;
            }

            if (entry.ExpiresAtMs <= now)
            {
                Remove(key, entry);
                continue;
            }

            entry.QueuedAtMs = entry.ExpiresAtMs;
            _byExpiry.Enqueue(key, entry.ExpiresAtMs);
        }
    }

    private void Remove(Sha256Hash key, Entry entry)
    {
        _entries.Remove(key);
        _recordBytes -= entry.Size;
        if (entry.Record is { Verified: false })
        {
            _unverifiedBytes -= entry.Size;
        }
    }

    /// <summary>Rebuilds the queues from the records once stale items (superseded times, removed records) outnumber them.</summary>
    private void CompactIfStale()
    {
        if (QueueItems > 3 * _entries.Count + 1024)
        {
            Compact();
        }
    }

    private void Compact()
    {
        _byExpiry.Clear();
        _finishedVerified.Clear();
        _finishedUnverified.Clear();
        foreach (var (key, entry) in _entries)
        {
            entry.QueuedAtMs = entry.ExpiresAtMs;
            _byExpiry.Enqueue(key, entry.ExpiresAtMs);
            entry.FinishedQueuedAtMs = long.MaxValue;
            if (entry.Record!.State == SettlementState.Finished)
            {
                entry.FinishedQueuedAtMs = entry.ExpiresAtMs;
                FinishedQueue(entry.Record).Enqueue(key, entry.ExpiresAtMs);
            }
        }
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private sealed class Entry
    {
        public SettlementRecord? Record { get; set; }

        public long ExpiresAtMs { get; set; }

        /// <summary>The time of its live item in the expiry queue (other items of the key there are stale).</summary>
        public long QueuedAtMs { get; set; } = long.MaxValue;

        /// <summary>The time of its live item in the finished queue, or <see cref="long.MaxValue"/> when it has none.</summary>
        public long FinishedQueuedAtMs { get; set; } = long.MaxValue;

        public int Size { get; set; }
    }
}
