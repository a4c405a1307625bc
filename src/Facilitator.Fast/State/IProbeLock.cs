namespace Facilitator.Fast.State;

/// <summary>
/// Decides which instance probes the upstreams in an interval: with shared state only one of them does, and every
/// instance sees the results through the shared health store.
/// </summary>
public interface IProbeLock
{
    /// <summary>True when this instance should probe now; the claim lapses by itself after <paramref name="holdFor"/>.</summary>
    ValueTask<bool> TryAcquireAsync(TimeSpan holdFor, CancellationToken cancellationToken);
}

/// <summary>The embedded lock: an instance running alone always probes.</summary>
public sealed class LocalProbeLock : IProbeLock
{
    public ValueTask<bool> TryAcquireAsync(TimeSpan holdFor, CancellationToken cancellationToken) => ValueTask.FromResult(true);
}
