namespace Facilitator.Fast.State;

/// <summary>
/// Where upstream health lives: consecutive failures, the healthy/unhealthy flag, and when each last changed.
/// The router reports every outcome here and rebuilds its routing snapshot when <see cref="Transitioned"/> fires.
/// </summary>
/// <remarks>
/// Implementations keep the per-outcome path free of allocation and locks: an outcome that changes nothing costs
/// a few interlocked operations. The in-memory store serves one instance; a shared store makes every instance see
/// a transition that any of them observed.
/// </remarks>
public interface IUpstreamHealthStore
{
    /// <summary>Increases on every transition, so a snapshot built from an older state can be recognised.</summary>
    long Version { get; }

    bool IsHealthy(string upstreamId);

    UpstreamHealth Read(string upstreamId);

    /// <summary>Counts a success of a call that started at <paramref name="startedAt"/>: a call that started before the
    /// upstream was marked unhealthy does not make it healthy again.</summary>
    HealthTransition RecordSuccess(string upstreamId, DateTimeOffset at, DateTimeOffset startedAt);

    /// <summary>Counts a failure; the upstream becomes unhealthy at <paramref name="threshold"/> consecutive failures.</summary>
    HealthTransition RecordFailure(string upstreamId, DateTimeOffset at, string error, int threshold);

    /// <summary>Raised after an upstream became healthy or unhealthy, with its id.</summary>
    event Action<string, HealthTransition>? Transitioned;
}
