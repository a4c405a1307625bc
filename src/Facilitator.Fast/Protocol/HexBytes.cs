using System.Buffers;

namespace Facilitator.Fast.Protocol;

/// <summary>Decodes <c>0x</c>-prefixed hex straight from UTF-8 JSON text into bytes, without a string.</summary>
public static class HexBytes
{
    /// <summary>
    /// Decodes <c>0x</c> followed by exactly <c>2 × destination.Length</c> hex digits (either case).
    /// </summary>
    /// <param name="requirePrefix">False accepts the digits without <c>0x</c> too, as some decoders do.</param>
    public static bool TryDecodeExact(ReadOnlySpan<byte> text, Span<byte> destination, bool requirePrefix = true)
    {
        if (!TryStripPrefix(text, requirePrefix, out var digits) || digits.Length != destination.Length * 2)
        {
            return false;
        }

        return Convert.FromHexString(digits, destination, out _, out var written) == OperationStatus.Done
            && written == destination.Length;
    }

    /// <summary>The number of bytes <c>0x</c>-prefixed hex text encodes, or -1 when it is not such text.</summary>
    public static int DecodedLength(ReadOnlySpan<byte> text, bool requirePrefix = true) =>
        TryStripPrefix(text, requirePrefix, out var digits) && digits.Length % 2 == 0 && digits.IndexOfAnyExcept(HexDigits) < 0
            ? digits.Length / 2
            : -1;

    /// <summary>Which prefix <paramref name="text"/> carries (a decoder's business: some read only <c>0x</c>).</summary>
    public static HexPrefix PrefixOf(ReadOnlySpan<byte> text) =>
        text.Length < 2 || text[0] != '0' ? HexPrefix.None
        : text[1] == 'x' ? HexPrefix.Lower
        : text[1] == 'X' ? HexPrefix.Upper
        : HexPrefix.None;

    private static readonly SearchValues<byte> HexDigits = SearchValues.Create("0123456789abcdefABCDEF"u8);

    private static bool TryStripPrefix(ReadOnlySpan<byte> text, bool requirePrefix, out ReadOnlySpan<byte> digits)
    {
        if (text.Length >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        {
            digits = text[2..];
            return true;
        }

        digits = requirePrefix ? default : text;
        return !requirePrefix;
    }
}
