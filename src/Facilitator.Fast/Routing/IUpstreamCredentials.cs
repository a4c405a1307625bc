namespace Facilitator.Fast.Routing;

/// <summary>Adds an upstream's credentials to each request made to it (verify, settle, probes, discovery alike).</summary>
public interface IUpstreamCredentials
{
    /// <summary>What the status API may show of them: a kind, never a secret.</summary>
    string Kind { get; }

    void Apply(HttpRequestMessage request);
}
