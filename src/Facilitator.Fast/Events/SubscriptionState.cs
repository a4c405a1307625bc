namespace Facilitator.Fast.Events;

/// <summary>
/// What one client receives: its channels and its filter. Immutable: a (un)subscribe builds a new one and swaps it
/// in with one volatile write, so the pump reads a consistent set per event without a lock.
/// </summary>
/// <param name="Network">A CAIP-2 id; payment events of other networks are not sent.</param>
/// <param name="Payee">An EVM address in lower case; payment events to other payees are not sent.</param>
internal sealed record SubscriptionState(EventChannel Channels, string? Network, string? Payee)
{
    /// <summary>The seed's default: <c>payments</c>, no filter.</summary>
    public static readonly SubscriptionState Default = new(EventChannel.Payments, null, null);

    /// <summary>Whether a frame of the hub goes to this client. The filter applies to payment events, which carry its facts.</summary>
    public bool Matches(EventFrame frame) =>
        (Channels & frame.Channel) != 0
        && (frame.Channel != EventChannel.Payments
            || ((Network is null || string.Equals(Network, frame.Network, StringComparison.Ordinal))
                && (Payee is null || string.Equals(Payee, frame.Payee, StringComparison.Ordinal))));
}
