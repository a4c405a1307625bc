using System.Collections.Frozen;

namespace Facilitator.Fast.State;

/// <summary>The embedded health store: one set of interlocked cells per upstream, for a service running alone.</summary>
public sealed class InMemoryUpstreamHealthStore : IUpstreamHealthStore
{
    private readonly FrozenDictionary<string, Cell> _cells;
    private long _version;

    public InMemoryUpstreamHealthStore(IEnumerable<string> upstreamIds)
    {
        _cells = upstreamIds.ToFrozenDictionary(static id => id, static _ => new Cell(), StringComparer.Ordinal);
    }

    public long Version => Volatile.Read(ref _version);

    public event Action<string, HealthTransition>? Transitioned;

    public bool IsHealthy(string upstreamId) => Volatile.Read(ref CellOf(upstreamId).Unhealthy) == 0;

    public UpstreamHealth Read(string upstreamId)
    {
        var cell = CellOf(upstreamId);
        return new UpstreamHealth(
            upstreamId,
            Volatile.Read(ref cell.Unhealthy) == 0,
            Volatile.Read(ref cell.ConsecutiveFailures),
            FromTicks(Volatile.Read(ref cell.LastSuccessTicks)),
            FromTicks(Volatile.Read(ref cell.LastFailureTicks)),
            Volatile.Read(ref cell.LastError),
            FromTicks(Volatile.Read(ref cell.UnhealthySinceTicks)));
    }

    public HealthTransition RecordSuccess(string upstreamId, DateTimeOffset at)
    {
        var cell = CellOf(upstreamId);
        Volatile.Write(ref cell.LastSuccessTicks, at.UtcTicks);
        if (Volatile.Read(ref cell.ConsecutiveFailures) != 0)
        {
            Interlocked.Exchange(ref cell.ConsecutiveFailures, 0);
        }

        if (Volatile.Read(ref cell.Unhealthy) == 0 || Interlocked.CompareExchange(ref cell.Unhealthy, 0, 1) != 1)
        {
            return HealthTransition.None;
        }

        Volatile.Write(ref cell.UnhealthySinceTicks, 0);
        return Publish(upstreamId, HealthTransition.BecameHealthy);
    }

    public HealthTransition RecordFailure(string upstreamId, DateTimeOffset at, string error, int threshold)
    {
        var cell = CellOf(upstreamId);
        Volatile.Write(ref cell.LastFailureTicks, at.UtcTicks);
        Volatile.Write(ref cell.LastError, error);
        var failures = Interlocked.Increment(ref cell.ConsecutiveFailures);
        if (failures < threshold || Interlocked.CompareExchange(ref cell.Unhealthy, 1, 0) != 0)
        {
            return HealthTransition.None;
        }

        Volatile.Write(ref cell.UnhealthySinceTicks, at.UtcTicks);
        return Publish(upstreamId, HealthTransition.BecameUnhealthy);
    }

    private HealthTransition Publish(string upstreamId, HealthTransition transition)
    {
        Interlocked.Increment(ref _version);
        Transitioned?.Invoke(upstreamId, transition);
        return transition;
    }

    private Cell CellOf(string upstreamId) =>
        _cells.TryGetValue(upstreamId, out var cell) ? cell : throw new KeyNotFoundException($"Unknown upstream '{upstreamId}'.");

    private static DateTimeOffset? FromTicks(long ticks) => ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);

    private sealed class Cell
    {
        public int ConsecutiveFailures;
        public int Unhealthy;
        public long LastSuccessTicks;
        public long LastFailureTicks;
        public long UnhealthySinceTicks;
        public string? LastError;
    }
}
