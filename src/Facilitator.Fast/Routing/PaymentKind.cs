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

/// <summary>
/// The (x402Version, scheme, network) of a payment, as slices of its request body, and the facilitator value it is
/// bound to when its kind binds it (<see cref="FacilitatorBinding"/>; <paramref name="BindingField"/> is the 1-based
/// index of the field in <see cref="FacilitatorBinding.Fields"/>, 0 when not bound, so that <c>default</c> is unbound).
/// </summary>
public readonly record struct PaymentKind(int Version, Utf8Slice Scheme, Utf8Slice Network, Utf8Slice Binding = default, int BindingField = 0)
{
    private static readonly PaymentField[] s_bindingFields =
        [PaymentField.RequirementsExtraFeePayer, PaymentField.RequirementsExtraFacilitatorAddress, PaymentField.RequirementsExtraReceiverAuthorizer];

    public static PaymentKind Of(in PaymentRequestView view)
    {
        for (var i = 0; i < s_bindingFields.Length; i++)
        {
            if (view[s_bindingFields[i]] is { Kind: not SliceKind.Absent } binding)
            {
                return new PaymentKind(view.Version, view.Scheme, view.Network, binding, i + 1);
            }
        }

        return new PaymentKind(view.Version, view.Scheme, view.Network);
    }

    /// <summary>The payment names the facilitator it was signed for.</summary>
    public bool IsBound => BindingField > 0;

    /// <summary>The capability lookup key of this payment (see <see cref="CapabilitySet.WriteKey"/>); -1 when not a payment.</summary>
    public int WriteKey(ReadOnlySpan<byte> body, Span<char> key) =>
        Version == 0 || !Scheme.IsString || !Network.IsString ? -1 : CapabilitySet.WriteKey(Version, Scheme, Network, body, key);

    /// <summary>How an upstream's capabilities relate to the payment whose key is <paramref name="key"/> (empty when none).</summary>
    public static Support SupportIn(CapabilitySet? capabilities, ReadOnlySpan<char> key) =>
        key.IsEmpty || capabilities is null ? Support.Unknown
        : capabilities.Supports(key) ? Support.Listed
        : Support.NotListed;
}
