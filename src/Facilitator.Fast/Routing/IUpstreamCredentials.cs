using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// Adds an upstream's credentials to each request made to it. Called once per request, so a credential that must be
/// fresh per request (CDP's JWT names the request's method and URL) is made here, never cached across requests.
/// </summary>
public interface IUpstreamCredentials
{
    /// <summary>What the status API may show of them: a kind, never a secret.</summary>
    string Kind { get; }

    /// <summary>Adds the credentials to <paramref name="request"/>, whose method and URL are final.</summary>
    /// <returns>False when <paramref name="operation"/> is public at this upstream and was left unauthenticated.</returns>
    bool Apply(HttpRequestMessage request, FacilitatorOperation operation);

    /// <summary>
    /// <paramref name="text"/> (an upstream's words) with the secrets these credentials send replaced, in every form an
    /// upstream could echo them; text the gateway logs, shows or relays passes through here.
    /// </summary>
    string Redact(string text) => text;
}
