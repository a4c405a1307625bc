using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// The id of a payment, derived from what makes an EIP-3009 authorization unique on chain — chain id, token, payer and
/// nonce — so every API and every instance names one authorization with one id without asking anyone: the <c>/v1</c>
/// record, the x402 path's events and the settlement ledger agree.
/// </summary>
/// <remarks>
/// An RFC 9562 version-8 (custom) UUID: the first 16 bytes of SHA-256 over a domain tag and the four fields, with the
/// version and variant bits set. Knowing an id reveals nothing; computing one needs the payer's nonce.
/// </remarks>
public static class PaymentId
{
    private static ReadOnlySpan<byte> Tag => "facilitator.fast/payment-id/v1"u8;

    /// <param name="asset">The token contract, 20 bytes.</param>
    /// <param name="payer">The authorization's <c>from</c>, 20 bytes.</param>
    /// <param name="nonce">The authorization's nonce, 32 bytes.</param>
    public static Guid Derive(ulong chainId, ReadOnlySpan<byte> asset, ReadOnlySpan<byte> payer, ReadOnlySpan<byte> nonce)
    {
        Span<byte> input = stackalloc byte[64 + 8 + 20 + 20 + 32];
        var at = 0;
        Tag.CopyTo(input);
        at += Tag.Length;
        BinaryPrimitives.WriteUInt64BigEndian(input[at..], chainId);
        at += 8;
        asset.CopyTo(input[at..]);
        at += asset.Length;
        payer.CopyTo(input[at..]);
        at += payer.Length;
        nonce.CopyTo(input[at..]);
        at += nonce.Length;

        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input[..at], digest);
        digest[6] = (byte)((digest[6] & 0x0F) | 0x80);
        digest[8] = (byte)((digest[8] & 0x3F) | 0x80);
        return new Guid(digest[..16], bigEndian: true);
    }

    /// <summary>The lower-case hyphenated form the API uses.</summary>
    public static string Format(Guid id) => id.ToString("D");

    /// <summary>Parses a UUID in the hyphenated form (any letter case); false for anything else.</summary>
    public static bool TryParse(string? text, out Guid id)
    {
        id = default;
        return text is { Length: 36 } && Guid.TryParseExact(text, "D", out id);
    }
}
