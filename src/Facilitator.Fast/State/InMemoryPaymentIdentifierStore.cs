namespace Facilitator.Fast.State;

/// <summary>
/// The embedded payment-identifier store: bindings in a dictionary under one lock, expired in time order, and bounded in
/// bytes. A live binding is never dropped to make room (a flood of bindings must not free an id for reuse): when full,
/// a new id is served unbound (<see cref="Refused"/> counts them; the settlement ledger still keeps each authorization
/// settled once), and an answer that does not fit is not kept.
/// </summary>
public sealed class InMemoryPaymentIdentifierStore(TimeProvider time, long maxBytes) : IPaymentIdentifierStore
{
    /// <summary>What a binding costs besides its answer's bytes: dictionary slot, entry, record, queue item.</summary>
    public const int BindingOverheadBytes = 256;

    private readonly Dictionary<Sha256Hash, Entry> _entries = [];
    private readonly PriorityQueue<Sha256Hash, long> _byExpiry = new();
    private readonly Lock _gate = new();
    private long _bytes;
    private long _refused;

    /// <summary>New ids served unbound because the store was full.</summary>
    public long Refused => Interlocked.Read(ref _refused);

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

    public ValueTask<IdentifierBinding?> BindAsync(Sha256Hash key, Sha256Hash fingerprint, TimeSpan retention)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_gate)
        {
            Expire(now);
            if (_entries.TryGetValue(key, out var existing))
            {
                return ValueTask.FromResult<IdentifierBinding?>(existing.Binding);
            }

            if (_bytes + BindingOverheadBytes > maxBytes)
            {
                Interlocked.Increment(ref _refused);
                return ValueTask.FromResult<IdentifierBinding?>(null);
            }

            var binding = new IdentifierBinding(fingerprint, null);
            var expires = now + (long)retention.TotalMilliseconds;
            _entries[key] = new Entry(binding, expires);
            _byExpiry.Enqueue(key, expires);
            _bytes += BindingOverheadBytes;
            return ValueTask.FromResult<IdentifierBinding?>(binding);
        }
    }

    public ValueTask RecordAsync(Sha256Hash key, Sha256Hash fingerprint, RecordedAnswer answer)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var entry) && entry.Binding.Fingerprint == fingerprint && entry.Binding.Answer is null)
            {
                var size = answer.Body.Length + (answer.ExtensionResponses?.Length ?? 0) * 2;
                if (BindingOverheadBytes + size > maxBytes / 16)
                {
                    return ValueTask.CompletedTask;
                }

                // An answer is kept only where there is room: without it, a repeat is asked upstream again.
                if (_bytes + size <= maxBytes)
                {
                    _entries[key] = entry with { Binding = entry.Binding with { Answer = answer } };
                    _bytes += size;
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    private void Expire(long now)
    {
        while (_byExpiry.TryPeek(out var key, out var expires) && expires <= now)
        {
            _byExpiry.Dequeue();
            Remove(key);
        }
    }

    private void Remove(Sha256Hash key)
    {
        if (_entries.Remove(key, out var entry))
        {
            _bytes -= BindingOverheadBytes + (entry.Binding.Answer is { } answer ? answer.Body.Length + (answer.ExtensionResponses?.Length ?? 0) * 2 : 0);
        }
    }

    private readonly record struct Entry(IdentifierBinding Binding, long ExpiresMs);
}
