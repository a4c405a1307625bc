using System.Text;

namespace Facilitator.Fast.Evm;

/// <summary>
/// EIP-55 mixed-case checksums of EVM addresses. Addresses the gateway writes itself are checksummed, because viem's
/// <c>getAddress</c> (which the official facilitator applies) throws on a mixed-case address with a wrong checksum;
/// one read with a wrong checksum is most likely mistyped, so it is refused rather than paid.
/// </summary>
internal static class Eip55
{
    /// <summary>
    /// Parses <c>0x</c> and 40 hex digits into <paramref name="address"/>; <paramref name="checksumValid"/> is false for
    /// mixed case that is not the EIP-55 checksum (all lower or all upper case carries none, and is valid).
    /// </summary>
    public static bool TryParse(string text, out EvmAddress address, out bool checksumValid)
    {
        checksumValid = false;
        address = default;
        if (text.Length != 42 || !EvmAddress.TryParse(Encoding.ASCII.GetBytes(text), out address))
        {
            return false;
        }

        var digits = text.AsSpan(2);
        checksumValid = !digits.ContainsAnyInRange('a', 'f') || !digits.ContainsAnyInRange('A', 'F')
            || digits.SequenceEqual(Format(address).AsSpan(2));
        return true;
    }

    /// <summary>
    /// Whether viem's strict <c>isAddress</c> (which the official verifier applies to <c>from</c> and <c>to</c>) takes
    /// these 40 digits of <paramref name="address"/>: no upper-case letter, or exactly the EIP-55 checksum. Unlike
    /// EIP-55 itself, viem refuses all upper case. No allocation; Keccak-256 runs only for mixed case.
    /// </summary>
    public static bool IsAcceptedCase(ReadOnlySpan<byte> digits, in EvmAddress address)
    {
        if (!digits.ContainsAnyInRange((byte)'A', (byte)'F'))
        {
            return true;
        }

        Span<byte> lower = stackalloc byte[2 * EvmAddress.Size];
        ReadOnlySpan<byte> bytes = address;
        for (var i = 0; i < bytes.Length; i++)
        {
            lower[2 * i] = "0123456789abcdef"u8[bytes[i] >> 4];
            lower[(2 * i) + 1] = "0123456789abcdef"u8[bytes[i] & 0x0F];
        }

        Span<byte> hash = stackalloc byte[32];
        Keccak256.Hash(lower, hash);
        for (var i = 0; i < lower.Length; i++)
        {
            var nibble = i % 2 == 0 ? hash[i / 2] >> 4 : hash[i / 2] & 0x0F;
            var expected = lower[i] >= 'a' && nibble >= 8 ? (byte)(lower[i] - 32) : lower[i];
            if (digits[i] != expected)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The checksummed <c>0x</c> form of <paramref name="address"/>.</summary>
    public static string Format(in EvmAddress address)
    {
        var hex = Convert.ToHexStringLower((ReadOnlySpan<byte>)address);
        Span<byte> ascii = stackalloc byte[40];
        Encoding.ASCII.GetBytes(hex, ascii);
        Span<byte> hash = stackalloc byte[32];
        Keccak256.Hash(ascii, hash);
        Span<char> output = stackalloc char[42];
        output[0] = '0';
        output[1] = 'x';
        for (var i = 0; i < 40; i++)
        {
            var nibble = i % 2 == 0 ? hash[i / 2] >> 4 : hash[i / 2] & 0x0F;
            var c = hex[i];
            output[i + 2] = c is >= 'a' and <= 'f' && nibble >= 8 ? (char)(c - 32) : c;
        }

        return new string(output);
    }
}
