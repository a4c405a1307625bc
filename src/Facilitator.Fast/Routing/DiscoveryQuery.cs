namespace Facilitator.Fast.Routing;

/// <summary>
/// A caller's discovery query and whether it may be sent with the operator's credentials for the upstreams (their
/// configured headers and tokens): an anonymous caller's query goes without them, so it cannot spend the operator's
/// quota or paid access at an upstream.
/// </summary>
/// <param name="Text">The query string as the caller sent it, with its <c>?</c>, or empty.</param>
/// <param name="WithOperatorCredentials">Whether the upstreams' configured headers and credentials are added.</param>
public sealed record DiscoveryQuery(string Text, bool WithOperatorCredentials);
