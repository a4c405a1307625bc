namespace Facilitator.Fast.Telemetry;

/// <summary>
/// The most recent upstream operations, kept in a fixed ring so memory stays bounded however long the service runs
/// (the seed's "约1-2MB用于日志" bound, made explicit by <c>Aggregator:OperationLogCapacity</c>).
/// </summary>
/// <remarks>
/// Writers take a sequence number with one <see cref="Interlocked.Increment(ref long)"/> and claim its slot by
/// swapping an older published sequence for the negated new one; a writer that finds the slot held by another
/// writer, or already used by a newer one, drops its record rather than write over it. Readers copy a slot only while its
/// sequence is published and unchanged, so they never return a torn record. No lock is taken on the request path.
/// </remarks>
public sealed class OperationLog
{
    private readonly Slot[] _slots;
    private long _next;

    public OperationLog(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _slots = new Slot[capacity];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot();
        }
    }

    public long TotalRecorded => Volatile.Read(ref _next);

    public void Add(in OperationRecord record)
    {
        var sequence = Interlocked.Increment(ref _next);
        var slot = _slots[(sequence - 1) % _slots.Length];
        var current = Volatile.Read(ref slot.Sequence);
        while (true)
        {
            if (current < 0 || current >= sequence)
            {
                return;
            }

            var seen = Interlocked.CompareExchange(ref slot.Sequence, -sequence, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }

        slot.Record = record;
        Volatile.Write(ref slot.Sequence, sequence);
    }

    /// <summary>The newest records first, at most <paramref name="limit"/>.</summary>
    public List<OperationRecord> Recent(int limit)
    {
        var newest = Volatile.Read(ref _next);
        var count = (int)Math.Min(Math.Min(limit, _slots.Length), newest);
        var result = new List<OperationRecord>(Math.Max(count, 0));
        for (var sequence = newest; sequence > newest - count; sequence--)
        {
            var slot = _slots[(sequence - 1) % _slots.Length];
            if (Volatile.Read(ref slot.Sequence) != sequence)
            {
                continue;
            }

            var record = slot.Record;
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref slot.Sequence) == sequence)
            {
                result.Add(record);
            }
        }

        return result;
    }

    private sealed class Slot
    {
        public long Sequence;
        public OperationRecord Record;
    }
}
