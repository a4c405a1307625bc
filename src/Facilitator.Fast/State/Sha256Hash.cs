using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Facilitator.Fast.State;

/// <summary>
/// A SHA-256 digest held inline, compared and hashed as four words: the fixed-size form in which the settlement ledger
/// keys and fingerprints authorizations, whatever the size of the request fields they were computed from.
/// </summary>
public readonly struct Sha256Hash : IEquatable<Sha256Hash>
{
    public const int Size = 32;

    private readonly ulong _w0, _w1, _w2, _w3;

    private Sha256Hash(ReadOnlySpan<byte> digest)
    {
        _w0 = BinaryPrimitives.ReadUInt64BigEndian(digest);
        _w1 = BinaryPrimitives.ReadUInt64BigEndian(digest[8..]);
        _w2 = BinaryPrimitives.ReadUInt64BigEndian(digest[16..]);
        _w3 = BinaryPrimitives.ReadUInt64BigEndian(digest[24..]);
    }

    public bool IsEmpty => (_w0 | _w1 | _w2 | _w3) == 0;

    /// <summary>The SHA-256 of <paramref name="data"/>.</summary>
    public static Sha256Hash Of(ReadOnlySpan<byte> data)
    {
        Span<byte> digest = stackalloc byte[Size];
        SHA256.HashData(data, digest);
        return new Sha256Hash(digest);
    }

    /// <summary>A digest that was computed elsewhere (32 bytes).</summary>
    public static Sha256Hash FromBytes(ReadOnlySpan<byte> digest) =>
        digest.Length == Size ? new Sha256Hash(digest) : throw new ArgumentException("A SHA-256 digest is 32 bytes.", nameof(digest));

    /// <summary>Parses the 64 lower- or upper-case hex digits that <see cref="ToString"/> writes.</summary>
    public static bool TryParse(ReadOnlySpan<char> hex, out Sha256Hash hash)
    {
        hash = default;
        Span<byte> digest = stackalloc byte[Size];
        if (hex.Length != Size * 2 || Convert.FromHexString(hex, digest, out _, out var written) != System.Buffers.OperationStatus.Done || written != Size)
        {
            return false;
        }

        hash = new Sha256Hash(digest);
        return true;
    }

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _w3);
    }

    public bool Equals(Sha256Hash other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    public override bool Equals(object? obj) => obj is Sha256Hash other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);

    public static bool operator ==(Sha256Hash left, Sha256Hash right) => left.Equals(right);

    public static bool operator !=(Sha256Hash left, Sha256Hash right) => !left.Equals(right);

    /// <summary>64 lower-case hex digits.</summary>
    public override string ToString()
    {
        Span<byte> digest = stackalloc byte[Size];
        WriteTo(digest);
        return Convert.ToHexStringLower(digest);
    }
}
