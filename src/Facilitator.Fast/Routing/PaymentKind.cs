using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>How an upstream's known capabilities relate to a payment.</summary>
public enum Support : byte
{
    /// <summary>The upstream's capabilities are not known yet (or the call is not a payment).</summary>
    Unknown = 0,
    Listed,
    NotListed,
}

/// <summary>The (x402Version, scheme, network) of a payment, as slices of its request body.</summary>
public readonly record struct PaymentKind(int Version, Utf8Slice Scheme, Utf8Slice Network)
{
    public static PaymentKind Of(in PaymentRequestView view) => new(view.Version, view.Scheme, view.Network);

    public Support SupportIn(CapabilitySet? capabilities, ReadOnlySpan<byte> body)
    {
        if (Version == 0 || capabilities is null || !Scheme.IsString || !Network.IsString)
        {
            return Support.Unknown;
        }

        return capabilities.Supports(Version, Scheme, Network, body) ? Support.Listed : Support.NotListed;
    }
}
