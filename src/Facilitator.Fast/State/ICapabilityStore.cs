namespace Facilitator.Fast.State;

/// <summary>
/// Each upstream's <c>/supported</c> answer, learned by whichever instance asked for it (the one holding the probe
/// lock, or one refreshing <c>/supported</c>), shared so that every instance routes by capability without probing
/// itself.
/// </summary>
public interface ICapabilityStore
{
    /// <summary>Shares what <paramref name="upstreamId"/> answered (its <c>/supported</c> JSON); never waits for Redis.</summary>
    void Share(string upstreamId, byte[] supported);

    /// <summary>
    /// Starts receiving what other instances learn: <paramref name="learned"/> is given each upstream's id and answer now
    /// (what is stored) and whenever another instance shares a different one.
    /// </summary>
    Task StartAsync(Action<string, byte[]> learned);
}

/// <summary>The embedded store: an instance running alone learns capabilities by probing, and shares them with nobody.</summary>
public sealed class LocalCapabilityStore : ICapabilityStore
{
    public void Share(string upstreamId, byte[] supported)
    {
    }

    public Task StartAsync(Action<string, byte[]> learned) => Task.CompletedTask;
}
