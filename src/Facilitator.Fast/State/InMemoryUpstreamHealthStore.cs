using System.Collections.Frozen;

namespace Facilitator.Fast.State;

/// <summary>The embedded health store: one set of interlocked cells per upstream, for a service running alone.</summary>
/// <remarks>
/// The consecutive-failure count and the unhealthy flag share one 64-bit word changed by compare-and-swap, so a
/// success racing a failure can never leave the upstream unhealthy with its count reset. A success on a healthy
/// upstream with no failures (the common case) only reads that word.
/// </remarks>
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

    private const long UnhealthyFlag = 1L << 32;
    private const long CountMask = uint.MaxValue;

    public bool IsHealthy(string upstreamId) => (Volatile.Read(ref CellOf(upstreamId).State) & UnhealthyFlag) == 0;

    public UpstreamHealth Read(string upstreamId)
    {
        var cell = CellOf(upstreamId);
        var state = Volatile.Read(ref cell.State);
        return new UpstreamHealth(
            upstreamId,
            (state & UnhealthyFlag) == 0,
            (int)Math.Min(state & CountMask, int.MaxValue),
            FromTicks(Volatile.Read(ref cell.LastSuccessTicks)),
            FromTicks(Volatile.Read(ref cell.LastFailureTicks)),
            Volatile.Read(ref cell.LastError),
            FromTicks(Volatile.Read(ref cell.UnhealthySinceTicks)));
    }

    public HealthTransition RecordSuccess(string upstreamId, DateTimeOffset at, DateTimeOffset startedAt)
    {
        var cell = CellOf(upstreamId);
        var state = Volatile.Read(ref cell.State);
        if ((state & UnhealthyFlag) != 0 && startedAt.UtcTicks < Volatile.Read(ref cell.UnhealthySinceTicks))
        {
            // Sent before the upstream was marked unhealthy: says nothing about it now.
            return HealthTransition.None;
        }

        Volatile.Write(ref cell.LastSuccessTicks, at.UtcTicks);
        while (state != 0)
        {
            var seen = Interlocked.CompareExchange(ref cell.State, 0, state);
            if (seen == state)
            {
                if ((state & UnhealthyFlag) == 0)
                {
                    return HealthTransition.None;
                }

                Volatile.Write(ref cell.UnhealthySinceTicks, 0);
                Volatile.Write(ref cell.LastTransitionTicks, at.UtcTicks);
                return Publish(upstreamId, HealthTransition.BecameHealthy);
            }

            state = seen;
        }

        return HealthTransition.None;
    }

    public HealthTransition RecordFailure(string upstreamId, DateTimeOffset at, string error, int threshold)
    {
        var cell = CellOf(upstreamId);
        Volatile.Write(ref cell.LastFailureTicks, at.UtcTicks);
        Volatile.Write(ref cell.LastError, error);
        var state = Volatile.Read(ref cell.State);
        while (true)
        {
            var count = Math.Min((state & CountMask) + 1, int.MaxValue);
            var wasUnhealthy = (state & UnhealthyFlag) != 0;
            var unhealthy = wasUnhealthy || count >= threshold;
            var next = count | (unhealthy ? UnhealthyFlag : 0);
            var seen = Interlocked.CompareExchange(ref cell.State, next, state);
            if (seen != state)
            {
                state = seen;
                continue;
            }

            if (wasUnhealthy || !unhealthy)
            {
                return HealthTransition.None;
            }

            Volatile.Write(ref cell.UnhealthySinceTicks, at.UtcTicks);
            Volatile.Write(ref cell.LastTransitionTicks, at.UtcTicks);
            return Publish(upstreamId, HealthTransition.BecameUnhealthy);
        }
    }

    /// <summary>
    /// Sets an upstream's health as another instance observed it, raising <see cref="Transitioned"/> when that
    /// changes it here. The failure count is this instance's own and restarts from zero.
    /// </summary>
    public HealthTransition Apply(string upstreamId, bool healthy, DateTimeOffset at, string? error)
    {
        var cell = CellOf(upstreamId);
        if (at.UtcTicks < Volatile.Read(ref cell.LastTransitionTicks))
        {
            // Older than what this instance saw last: a message that arrived late.
            return HealthTransition.None;
        }

        var current = Volatile.Read(ref cell.State);
        if (((current & UnhealthyFlag) == 0) == healthy)
        {
            return HealthTransition.None;
        }

        Volatile.Write(ref cell.LastTransitionTicks, at.UtcTicks);
        var previous = Interlocked.Exchange(ref cell.State, healthy ? 0 : UnhealthyFlag);
        var wasHealthy = (previous & UnhealthyFlag) == 0;
        if (wasHealthy == healthy)
        {
            return HealthTransition.None;
        }

        if (healthy)
        {
            Volatile.Write(ref cell.UnhealthySinceTicks, 0);
            Volatile.Write(ref cell.LastSuccessTicks, at.UtcTicks);
        }
        else
        {
            Volatile.Write(ref cell.UnhealthySinceTicks, at.UtcTicks);
            Volatile.Write(ref cell.LastFailureTicks, at.UtcTicks);
            Volatile.Write(ref cell.LastError, error);
        }

        return Publish(upstreamId, healthy ? HealthTransition.BecameHealthy : HealthTransition.BecameUnhealthy);
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
        /// <summary>Consecutive failures in the low 32 bits, <see cref="UnhealthyFlag"/> above them.</summary>
        public long State;
        public long LastSuccessTicks;
        public long LastFailureTicks;
        public long UnhealthySinceTicks;
        public long LastTransitionTicks;
        public string? LastError;
    }
}
