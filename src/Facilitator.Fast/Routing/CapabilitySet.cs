using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// The (x402Version, scheme, network) kinds an upstream answered in <c>/supported</c>, and the facilitator-binding
/// values of their <c>extra</c> (fee payers and the like), as immutable sets that a request can look its payment up in
/// without allocating.
/// </summary>
public sealed class CapabilitySet
{
    private readonly FrozenSet<string> _kinds;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _bindings;

    public CapabilitySet(SupportedResponse supported)
    {
        _kinds = supported.Kinds
            .Select(static k => Key(k.X402Version, k.Scheme, k.Network))
            .ToFrozenSet(StringComparer.Ordinal);
        _lookup = _kinds.GetAlternateLookup<ReadOnlySpan<char>>();
        _bindings = supported.Kinds.SelectMany(BindingKeys).ToFrozenSet(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _kinds.Count;

    /// <summary>True when the upstream listed the kind whose key <see cref="WriteKey"/> wrote.</summary>
    public bool Supports(ReadOnlySpan<char> key) => _lookup.Contains(key);

    /// <summary>True when the upstream advertised, for the payment's kind, the facilitator value the payment is bound to.</summary>
    public bool Advertises(ReadOnlySpan<char> bindingKey) => _bindings.Contains(bindingKey);

    private static IEnumerable<string> BindingKeys(SupportedKind kind)
    {
        if (kind.Extra is not { ValueKind: System.Text.Json.JsonValueKind.Object } extra)
        {
            yield break;
        }

        foreach (var field in FacilitatorBinding.Fields)
        {
            if (extra.TryGetProperty(field, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                yield return FacilitatorBinding.Key(kind.X402Version, kind.Scheme, kind.Network, field, value.GetString()!);
            }
        }
    }

    /// <summary>Writes the lookup key <c>version|scheme|network</c> of a payment; the length, or -1 when it cannot be read.</summary>
    public static int WriteKey(int version, Utf8Slice scheme, Utf8Slice network, ReadOnlySpan<byte> body, Span<char> key)
    {
        Span<byte> schemeBytes = stackalloc byte[64];
        Span<byte> networkBytes = stackalloc byte[128];
        if (!scheme.TryCopyUnescaped(body, schemeBytes, out var schemeLength) || !network.TryCopyUnescaped(body, networkBytes, out var networkLength)
            || key.Length < 16 + schemeLength + networkLength || !version.TryFormat(key, out var written, default, CultureInfo.InvariantCulture))
        {
            return -1;
        }

        key[written++] = '|';
        written += Encoding.UTF8.GetChars(schemeBytes[..schemeLength], key[written..]);
        key[written++] = '|';
        written += Encoding.UTF8.GetChars(networkBytes[..networkLength], key[written..]);
        return written;
    }

    private static string Key(int version, string scheme, string network) =>
        string.Create(CultureInfo.InvariantCulture, $"{version}|{scheme}|{network}");
}
