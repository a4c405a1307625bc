using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Evm;

/// <summary>
/// An EIP-3009 <c>TransferWithAuthorization</c> message, decoded from a payment's <c>authorization</c> object: the
/// thing the payer signed and the token contract will execute.
/// </summary>
public struct TransferAuthorization
{
    public EvmAddress From;
    public EvmAddress To;
    public UInt256 Value;
    public UInt256 ValidAfter;
    public UInt256 ValidBefore;
    public Bytes32 Nonce;

    /// <summary>keccak256 of <c>TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)</c>.</summary>
    public static ReadOnlySpan<byte> TypeHash =>
    [
        0x7c, 0x7c, 0x6c, 0xdb, 0x67, 0xa1, 0x87, 0x43, 0xf4, 0x9e, 0xc6, 0xfa, 0x9b, 0x35, 0xf5, 0x0d,
        0x52, 0xed, 0x05, 0xcb, 0xed, 0x4c, 0xc5, 0x92, 0xe1, 0x3b, 0x44, 0x50, 0x1c, 0x1a, 0x22, 0x67,
    ];

    /// <summary>The EIP-712 struct hash: keccak256 of the type hash and the six fields, each as a 32-byte ABI word.</summary>
    public readonly void ComputeStructHash(Span<byte> destination)
    {
        Span<byte> encoded = stackalloc byte[7 * 32];
        encoded.Clear();
        TypeHash.CopyTo(encoded);
        ((ReadOnlySpan<byte>)From).CopyTo(encoded[(32 + 12)..]);
        ((ReadOnlySpan<byte>)To).CopyTo(encoded[(64 + 12)..]);
        Value.WriteBigEndian(encoded[96..]);
        ValidAfter.WriteBigEndian(encoded[128..]);
        ValidBefore.WriteBigEndian(encoded[160..]);
        ((ReadOnlySpan<byte>)Nonce).CopyTo(encoded[192..]);
        Keccak256.Hash(encoded, destination);
    }
}
