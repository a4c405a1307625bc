using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// The facilitator a payment was signed for, when its kind binds it to one: the value of <c>extra.feePayer</c> (SVM
/// <c>exact</c>: the facilitator pays the fee and co-signs), <c>extra.facilitatorAddress</c> (<c>upto</c>) or
/// <c>extra.receiverAuthorizer</c> (<c>batch-settlement</c>), copied by the resource server from the <c>/supported</c>
/// of the facilitator it read. Such a payment is valid at that facilitator only.
/// </summary>
public static class FacilitatorBinding
{
    /// <summary>The <c>extra</c> fields that name a facilitator, in the order they are looked for.</summary>
    public static readonly string[] Fields = ["feePayer", "facilitatorAddress", "receiverAuthorizer"];

    /// <summary>
    /// Writes the binding key <c>version|scheme|network|field=value</c> of a bound payment; -1 when it names a facilitator
    /// in a form that cannot be read (such a payment can be routed nowhere safely).
    /// </summary>
    public static int WriteKey(in PaymentKind kind, ReadOnlySpan<byte> body, Span<char> key)
    {
        var length = kind.WriteKey(body, key);
        Span<byte> value = stackalloc byte[128];
        var field = Fields[kind.BindingField - 1];
        if (length < 0 || !kind.Binding.IsString || !kind.Binding.TryCopyUnescaped(body, value, out var valueLength)
            || length + field.Length + 2 + valueLength > key.Length)
        {
            return -1;
        }

        key[length++] = '|';
        field.AsSpan().CopyTo(key[length..]);
        length += field.Length;
        key[length++] = '=';
        return length + System.Text.Encoding.UTF8.GetChars(value[..valueLength], key[length..]);
    }

    /// <summary>The binding key of one value an upstream advertised for a kind (the same form as <see cref="WriteKey"/>).</summary>
    public static string Key(int version, string scheme, string network, string field, string value) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{version}|{scheme}|{network}|{field}={value}");
}
