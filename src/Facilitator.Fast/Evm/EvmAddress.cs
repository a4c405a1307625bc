using System.Runtime.CompilerServices;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Evm;

/// <summary>A 20-byte EVM address held inline (no array), compared as bytes, so checksum casing never matters.</summary>
[InlineArray(Size)]
public struct EvmAddress
{
    public const int Size = 20;

    private byte _element0;

    /// <summary>Parses <c>0x</c> and 40 hex digits of any case.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Hex, out EvmAddress address)
    {
        address = default;
        return HexBytes.TryDecodeExact(utf8Hex, address);
    }

    public readonly bool Equals(in EvmAddress other) =>
        ((ReadOnlySpan<byte>)this).SequenceEqual(other);
}
