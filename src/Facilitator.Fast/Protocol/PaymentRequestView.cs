namespace Facilitator.Fast.Protocol;

/// <summary>
/// What the gateway knows about a verify/settle request after one pass over its bytes: the protocol version
/// and the fields that routing, error answers and logs need. Values are slices of the original body, which
/// stays the thing that is forwarded.
/// </summary>
public readonly struct PaymentRequestView
{
    public PaymentRequestView(int version, Utf8Slice scheme, Utf8Slice network, Utf8Slice payer)
    {
        Version = version;
        Scheme = scheme;
        Network = network;
        Payer = payer;
    }

    /// <summary><c>x402Version</c> of the request: 1 or 2.</summary>
    public int Version { get; }

    /// <summary><c>paymentRequirements.scheme</c>.</summary>
    public Utf8Slice Scheme { get; }

    /// <summary><c>paymentRequirements.network</c> (a v1 name such as <c>base-sepolia</c>, or a CAIP-2 id in v2).</summary>
    public Utf8Slice Network { get; }

    /// <summary><c>paymentPayload.payload.authorization.from</c> when the payload carries an EIP-3009 authorization.</summary>
    public Utf8Slice Payer { get; }
}
