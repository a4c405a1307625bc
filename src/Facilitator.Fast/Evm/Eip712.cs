using System.Buffers.Binary;

namespace Facilitator.Fast.Evm;

/// <summary>EIP-712 typed-data hashing for the <c>EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)</c> domain.</summary>
public static class Eip712
{
    /// <summary>keccak256 of <c>EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)</c>.</summary>
    public static ReadOnlySpan<byte> DomainTypeHash =>
    [
        0x8b, 0x73, 0xc3, 0xc6, 0x9b, 0xb8, 0xfe, 0x3d, 0x51, 0x2e, 0xcc, 0x4c, 0xf7, 0x59, 0xcc, 0x79,
        0x23, 0x9f, 0x7b, 0x17, 0x9b, 0x0f, 0xfa, 0xca, 0xa9, 0xa7, 0x5d, 0x52, 0x2b, 0x39, 0x40, 0x0f,
    ];

    /// <summary>The domain separator: keccak256(typeHash ‖ keccak256(name) ‖ keccak256(version) ‖ chainId ‖ verifyingContract).</summary>
    public static void ComputeDomainSeparator(
        ReadOnlySpan<byte> name, ReadOnlySpan<byte> version, ulong chainId, in EvmAddress verifyingContract, Span<byte> destination)
    {
        Span<byte> encoded = stackalloc byte[5 * 32];
        encoded.Clear();
        DomainTypeHash.CopyTo(encoded);
        Keccak256.Hash(name, encoded[32..]);
        Keccak256.Hash(version, encoded[64..]);
        BinaryPrimitives.WriteUInt64BigEndian(encoded[(96 + 24)..], chainId);
        ((ReadOnlySpan<byte>)verifyingContract).CopyTo(encoded[(128 + 12)..]);
        Keccak256.Hash(encoded, destination);
    }

    /// <summary>The digest that is signed: keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ structHash).</summary>
    public static void ComputeDigest(ReadOnlySpan<byte> domainSeparator, ReadOnlySpan<byte> structHash, Span<byte> destination)
    {
        Span<byte> encoded = stackalloc byte[66];
        encoded[0] = 0x19;
        encoded[1] = 0x01;
        domainSeparator.CopyTo(encoded[2..]);
        structHash.CopyTo(encoded[34..]);
        Keccak256.Hash(encoded, destination);
    }
}
