using System.Runtime.CompilerServices;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Evm;

/// <summary>32 bytes held inline: a nonce, a hash, an ABI word.</summary>
[InlineArray(Size)]
public struct Bytes32
{
    public const int Size = 32;

    private byte _element0;

    /// <summary>Parses <c>0x</c> and 64 hex digits of any case.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Hex, out Bytes32 value)
    {
        value = default;
        return HexBytes.TryDecodeExact(utf8Hex, value);
    }
}
