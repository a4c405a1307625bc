using System.Buffers.Binary;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// An unsigned 256-bit integer, as Solidity's <c>uint256</c>: amounts and times of a payment are parsed into it
/// straight from their decimal UTF-8 text, with no string and no <see cref="System.Numerics.BigInteger"/>.
/// </summary>
public readonly struct UInt256 : IComparable<UInt256>, IEquatable<UInt256>
{
    // Little-endian limbs: _u0 is the least significant.
    private readonly ulong _u0, _u1, _u2, _u3;

    public UInt256(ulong u3, ulong u2, ulong u1, ulong u0)
    {
        _u0 = u0;
        _u1 = u1;
        _u2 = u2;
        _u3 = u3;
    }

    /// <summary>The value when it fits in 64 bits, for times; <see cref="ulong.MaxValue"/> when larger.</summary>
    public ulong SaturatedUInt64 => (_u1 | _u2 | _u3) == 0 ? _u0 : ulong.MaxValue;

    public static implicit operator UInt256(ulong value) => new(0, 0, 0, value);

    /// <summary>
    /// Parses a decimal integer of ASCII digits (no sign, no exponent, no fraction; leading zeros allowed, as
    /// JavaScript's <c>BigInt("0010")</c> accepts them); false when empty, not digits, or above 2^256 - 1.
    /// </summary>
    public static bool TryParseDecimal(ReadOnlySpan<byte> text, out UInt256 value)
    {
        value = default;
        if (text.IsEmpty || text.Length > 100)
        {
            return false;
        }

        ulong u0 = 0, u1 = 0, u2 = 0, u3 = 0;
        foreach (var c in text)
        {
            var digit = (uint)(c - '0');
            if (digit > 9)
            {
                return false;
            }

            // value = value * 10 + digit, limb by limb with carries.
            var hi0 = Math.BigMul(u0, 10UL, out var lo0);
            var hi1 = Math.BigMul(u1, 10UL, out var lo1);
            var hi2 = Math.BigMul(u2, 10UL, out var lo2);
            var hi3 = Math.BigMul(u3, 10UL, out var lo3);
            u0 = Add(lo0, digit, 0, out var carry);
            u1 = Add(lo1, hi0, carry, out carry);
            u2 = Add(lo2, hi1, carry, out carry);
            u3 = Add(lo3, hi2, carry, out carry);
            if ((carry | hi3) != 0)
            {
                return false;
            }
        }

        value = new UInt256(u3, u2, u1, u0);
        return true;
    }

    private static ulong Add(ulong a, ulong b, ulong carryIn, out ulong carryOut)
    {
        var sum = a + b;
        carryOut = sum < a ? 1UL : 0UL;
        var total = sum + carryIn;
        carryOut += total < sum ? 1UL : 0UL;
        return total;
    }

    /// <summary>Writes the value as 32 big-endian bytes, as ABI encoding wants it.</summary>
    public void WriteBigEndian(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _u3);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _u2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _u1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _u0);
    }

    public int CompareTo(UInt256 other) =>
        _u3 != other._u3 ? _u3.CompareTo(other._u3)
        : _u2 != other._u2 ? _u2.CompareTo(other._u2)
        : _u1 != other._u1 ? _u1.CompareTo(other._u1)
        : _u0.CompareTo(other._u0);

    public bool Equals(UInt256 other) => _u0 == other._u0 && _u1 == other._u1 && _u2 == other._u2 && _u3 == other._u3;

    public override bool Equals(object? obj) => obj is UInt256 other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_u0, _u1, _u2, _u3);

    public static bool operator ==(UInt256 a, UInt256 b) => a.Equals(b);

    public static bool operator !=(UInt256 a, UInt256 b) => !a.Equals(b);

    public static bool operator <(UInt256 a, UInt256 b) => a.CompareTo(b) < 0;

    public static bool operator >(UInt256 a, UInt256 b) => a.CompareTo(b) > 0;

    public static bool operator <=(UInt256 a, UInt256 b) => a.CompareTo(b) <= 0;

    public static bool operator >=(UInt256 a, UInt256 b) => a.CompareTo(b) >= 0;

    public override string ToString() => new System.Numerics.BigInteger(ToBigEndianBytes(), isUnsigned: true, isBigEndian: true).ToString();

    public byte[] ToBigEndianBytes()
    {
        var bytes = new byte[32];
        WriteBigEndian(bytes);
        return bytes;
    }
}
