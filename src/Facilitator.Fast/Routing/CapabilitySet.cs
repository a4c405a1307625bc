using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// The (x402Version, scheme, network) kinds an upstream answered in <c>/supported</c>, as an immutable set that a
/// request can look its payment up in without allocating.
/// </summary>
public sealed class CapabilitySet
{
    private readonly FrozenSet<string> _kinds;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public CapabilitySet(SupportedResponse supported)
    {
        _kinds = supported.Kinds
            .Select(static k => Key(k.X402Version, k.Scheme, k.Network))
            .ToFrozenSet(StringComparer.Ordinal);
        _lookup = _kinds.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _kinds.Count;

    /// <summary>True when the upstream listed the payment's kind; scheme and network are slices of <paramref name="body"/>.</summary>
    public bool Supports(int version, Utf8Slice scheme, Utf8Slice network, ReadOnlySpan<byte> body)
    {
        Span<byte> schemeBytes = stackalloc byte[64];
        Span<byte> networkBytes = stackalloc byte[128];
        if (!scheme.TryCopyUnescaped(body, schemeBytes, out var schemeLength) || !network.TryCopyUnescaped(body, networkBytes, out var networkLength))
        {
            return false;
        }

        Span<char> key = stackalloc char[16 + schemeLength + networkLength];
        if (!version.TryFormat(key, out var written, default, CultureInfo.InvariantCulture))
        {
            return false;
        }

        key[written++] = '|';
        written += Encoding.UTF8.GetChars(schemeBytes[..schemeLength], key[written..]);
        key[written++] = '|';
        written += Encoding.UTF8.GetChars(networkBytes[..networkLength], key[written..]);
        return _lookup.Contains(key[..written]);
    }

    private static string Key(int version, string scheme, string network) =>
        string.Create(CultureInfo.InvariantCulture, $"{version}|{scheme}|{network}");
}
