
namespace Facilitator.Fast.Evm;

/// <summary>
/// Ethereum-style public-key recovery: a compact signature <c>r ‖ s ‖ v</c> and a 32-byte digest give the signer's
/// 20-byte address, through libsecp256k1 with one context for the whole process.
/// </summary>
/// <remarks>
/// libsecp256k1's recovery accepts any <c>s</c>; Ethereum contracts (USDC's <c>ECRecover</c> among them) refuse
/// <c>s</c> above n/2, so this check is made here, before the library is called.
/// </remarks>
public static unsafe class Secp256k1
{
    public const int SignatureSize = 65;
    public const int AddressSize = 20;

    private static readonly nint s_context = Secp256k1Native.ContextCreate(Secp256k1Native.ContextVerify);

    /// <summary>n/2, big-endian: the largest <c>s</c> a non-malleable signature may have.</summary>
    private static ReadOnlySpan<byte> HalfOrder =>
    [
        0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
    ];

    /// <summary>Recovers the address that signed <paramref name="digest"/>, writing it to <paramref name="address"/>.</summary>
    public static SignatureCheck TryRecoverAddress(ReadOnlySpan<byte> digest, ReadOnlySpan<byte> signature, Span<byte> address)
    {
        if (digest.Length != 32 || signature.Length != SignatureSize || address.Length < AddressSize)
        {
            throw new ArgumentException("Expected a 32-byte digest, a 65-byte signature and room for a 20-byte address.");
        }

        var v = signature[64];
        var recoveryId = v >= 27 ? v - 27 : v;
        if (recoveryId is not (0 or 1))
        {
            return SignatureCheck.InvalidRecoveryId;
        }

        if (signature.Slice(32, 32).SequenceCompareTo(HalfOrder) > 0)
        {
            return SignatureCheck.HighS;
        }

        var parsed = stackalloc byte[Secp256k1Native.RecoverableSignatureSize];
        var publicKey = stackalloc byte[Secp256k1Native.PublicKeySize];
        var serialized = stackalloc byte[65];
        nuint serializedLength = 65;
        fixed (byte* compact = signature)
        fixed (byte* message = digest)
        {
            if (Secp256k1Native.RecoverableSignatureParseCompact(s_context, parsed, compact, recoveryId) != 1)
            {
                return SignatureCheck.OutOfRange;
            }

            if (Secp256k1Native.Recover(s_context, publicKey, parsed, message) != 1)
            {
                return SignatureCheck.NotRecoverable;
            }
        }

        Secp256k1Native.PublicKeySerialize(s_context, serialized, &serializedLength, publicKey, Secp256k1Native.Uncompressed);

        // The address is the last 20 bytes of keccak256 of the 64-byte key (without the 0x04 prefix).
        Span<byte> hash = stackalloc byte[Keccak256.HashSize];
        Keccak256.Hash(new ReadOnlySpan<byte>(serialized + 1, 64), hash);
        hash[12..].CopyTo(address);
        return SignatureCheck.Recovered;
    }

    /// <summary>The raw library call, for comparing the cost of a full check with the recovery it rests on.</summary>
    internal static bool RecoverPublicKey(ReadOnlySpan<byte> digest, ReadOnlySpan<byte> signature, Span<byte> publicKey64)
    {
        var recoveryId = signature[64] >= 27 ? signature[64] - 27 : signature[64];
        if (recoveryId is not (0 or 1))
        {
            return false;
        }

        var parsed = stackalloc byte[Secp256k1Native.RecoverableSignatureSize];
        fixed (byte* compact = signature)
        fixed (byte* message = digest)
        fixed (byte* output = publicKey64)
        {
            return Secp256k1Native.RecoverableSignatureParseCompact(s_context, parsed, compact, recoveryId) == 1
                && Secp256k1Native.Recover(s_context, output, parsed, message) == 1;
        }
    }

    /// <summary>True when libsecp256k1 could be loaded and a context created (checked once at start).</summary>
    public static bool IsAvailable => s_context != 0;
}
