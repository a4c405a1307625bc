using System.Globalization;
using System.Numerics;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Amounts in a token's units (<c>"1.50"</c>) and in its atomic units (<c>"1500000"</c> for 6 decimals), converted
/// exactly: a token amount with more decimals than the token has is refused, never rounded.
/// </summary>
public static class TokenAmount
{
    /// <summary>The largest atomic amount accepted: an EIP-3009 value is a uint256.</summary>
    public static readonly BigInteger MaxAtomic = (BigInteger.One << 256) - 1;

    /// <summary>Parses a non-negative decimal with at most <paramref name="decimals"/> fraction digits into atomic units.</summary>
    public static bool TryParse(string? text, int decimals, out BigInteger atomic)
    {
        atomic = default;
        if (string.IsNullOrEmpty(text) || text.Length > 100)
        {
            return false;
        }

        var dot = text.IndexOf('.');
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? "" : text[(dot + 1)..];
        if (whole.Length == 0 || (dot >= 0 && fraction.Length == 0) || fraction.Length > decimals
            || !IsDigits(whole) || !IsDigits(fraction))
        {
            return false;
        }

        atomic = BigInteger.Parse(whole + fraction.PadRight(decimals, '0'), NumberStyles.None, CultureInfo.InvariantCulture);
        return atomic <= MaxAtomic;
    }

    /// <summary>Parses a non-negative integer of atomic units (as x402 writes <c>value</c> and <c>amount</c>).</summary>
    public static bool TryParseAtomic(ReadOnlySpan<char> text, out BigInteger atomic)
    {
        atomic = default;
        return text.Length is > 0 and <= 78 && IsDigits(text)
            && BigInteger.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out atomic) && atomic <= MaxAtomic;
    }

    /// <summary>Writes atomic units in token units, without trailing zeros: 1500000 at 6 decimals is <c>"1.5"</c>.</summary>
    public static string Format(BigInteger atomic, int decimals)
    {
        var digits = BigInteger.Abs(atomic).ToString(CultureInfo.InvariantCulture);
        if (decimals == 0)
        {
            return digits;
        }

        digits = digits.PadLeft(decimals + 1, '0');
        var whole = digits[..^decimals];
        var fraction = digits[^decimals..].TrimEnd('0');
        return fraction.Length == 0 ? whole : whole + "." + fraction;
    }

    private static bool IsDigits(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
