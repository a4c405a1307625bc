using System.Runtime.CompilerServices;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// What the gateway knows about a verify/settle request after one pass over its bytes: the protocol version and
/// every field routing, local verification, error answers and logs need. Values are slices of the original body,
/// which stays the thing that is forwarded.
/// </summary>
public struct PaymentRequestView
{
    public const int FieldCount = (int)PaymentField.Permit2Authorization + 1;

    private Fields _fields;

    /// <summary>Where the <c>paymentPayload</c> object lies in the body (start, length).</summary>
    public (int Start, int Length) PaymentPayloadRange { get; internal set; }

    /// <summary>Where the <c>paymentRequirements</c> object lies in the body (start, length).</summary>
    public (int Start, int Length) RequirementsRange { get; internal set; }

    /// <summary><c>x402Version</c> of the request: 1 or 2.</summary>
    public int Version { get; internal set; }

    public readonly Utf8Slice this[PaymentField field] => _fields[(int)field];

    /// <summary><c>paymentRequirements.scheme</c>.</summary>
    public readonly Utf8Slice Scheme => this[PaymentField.RequirementsScheme];

    /// <summary><c>paymentRequirements.network</c> (a v1 name such as <c>base-sepolia</c>, or a CAIP-2 id in v2).</summary>
    public readonly Utf8Slice Network => this[PaymentField.RequirementsNetwork];

    /// <summary><c>paymentPayload.payload.authorization.from</c> when the payload carries an EIP-3009 authorization.</summary>
    public readonly Utf8Slice Payer => this[PaymentField.From];

    internal void Set(PaymentField field, Utf8Slice value) => _fields[(int)field] = value;

    [InlineArray(FieldCount)]
    private struct Fields
    {
        private Utf8Slice _element0;
    }
}
