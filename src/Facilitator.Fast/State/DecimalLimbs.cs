using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Facilitator.Fast.State;

/// <summary>
/// An exact non-negative integer as limbs of base 10^12, least significant first: token amounts are uint256, far beyond
/// a <see cref="long"/>, and Redis counts with 64-bit <c>HINCRBY</c> (and its Lua with doubles, exact below 2^53), so a
/// volume is kept as several counters of at most 12 digits each with the carry done by hand — here and in the Redis
/// script alike. A power of ten as the base makes the limbs plain slices of the decimal text, both ways.
/// </summary>
/// <remarks>
/// <see cref="Count"/> limbs hold 84 digits, more than a uint256's 78; the top limb takes any further carry as a
/// 64-bit counter, so a sum stays exact up to about 9 × 10^90 atomic units.
/// </remarks>
internal struct DecimalLimbs : IEquatable<DecimalLimbs>
{
    public const int Count = 7;
    public const int DigitsPerLimb = 12;
    public const long Base = 1_000_000_000_000;

    private Limbs _limbs;

    public readonly long this[int index] => _limbs[index];

    /// <summary>How many limbs are significant (the highest non-zero one and those below it); 0 for zero.</summary>
    public readonly int Length
    {
        get
        {
            for (var i = Count - 1; i >= 0; i--)
            {
                if (_limbs[i] != 0)
                {
                    return i + 1;
                }
            }

            return 0;
        }
    }

    public readonly bool IsZero => Length == 0;

    /// <summary>Parses ASCII decimal digits (leading zeros allowed, at most <see cref="Count"/> × 12 digits).</summary>
    public static bool TryParse(ReadOnlySpan<byte> digits, out DecimalLimbs value)
    {
        value = default;
        if (digits.IsEmpty || digits.Length > Count * DigitsPerLimb)
        {
            return false;
        }

        var limb = 0;
        for (var end = digits.Length; end > 0; end -= DigitsPerLimb, limb++)
        {
            var start = Math.Max(0, end - DigitsPerLimb);
            long part = 0;
            foreach (var c in digits[start..end])
            {
                var digit = (uint)(c - '0');
                if (digit > 9)
                {
                    value = default;
                    return false;
                }

                part = (part * 10) + digit;
            }

            value._limbs[limb] = part;
        }

        return true;
    }

    /// <summary>A non-negative <see cref="BigInteger"/> (a fee from the fee schedule); larger than the limbs hold saturates the top limb.</summary>
    public static DecimalLimbs From(BigInteger number)
    {
        var value = default(DecimalLimbs);
        for (var i = 0; i < Count - 1 && !number.IsZero; i++)
        {
            number = BigInteger.DivRem(number, Base, out var remainder);
            value._limbs[i] = (long)remainder;
        }

        value._limbs[Count - 1] = number > long.MaxValue ? long.MaxValue : (long)number;
        return value;
    }

    /// <summary>Limbs as stored (each below <see cref="Base"/> except the top one); used when reading them back.</summary>
    public void SetLimb(int index, long limb) => _limbs[index] = limb;

    /// <summary>Adds <paramref name="other"/>, carrying as the Redis script does.</summary>
    public void Add(in DecimalLimbs other)
    {
        long carry = 0;
        for (var i = 0; i < Count; i++)
        {
            var sum = _limbs[i] + other._limbs[i] + carry;
            if (i < Count - 1)
            {
                carry = sum / Base;
                sum %= Base;
            }

            _limbs[i] = sum;
        }
    }

    public readonly BigInteger ToBigInteger()
    {
        var number = BigInteger.Zero;
        for (var i = Count - 1; i >= 0; i--)
        {
            number = (number * Base) + _limbs[i];
        }

        return number;
    }

    public override readonly string ToString() => ToBigInteger().ToString(CultureInfo.InvariantCulture);

    public readonly bool Equals(DecimalLimbs other)
    {
        for (var i = 0; i < Count; i++)
        {
            if (_limbs[i] != other._limbs[i])
            {
                return false;
            }
        }

        return true;
    }

    public override readonly bool Equals(object? obj) => obj is DecimalLimbs other && Equals(other);

    public override readonly int GetHashCode() => HashCode.Combine(_limbs[0], _limbs[1], Length);

    [InlineArray(Count)]
    private struct Limbs
    {
        private long _element0;
    }
}
