using System.Buffers;
using System.Security.Cryptography;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Evm;

/// <summary>
/// Judges an x402 <c>exact</c> payment on an EVM network (an EIP-3009 <c>TransferWithAuthorization</c>) without a
/// chain: scheme, EIP-712 domain, network agreement, signature, recipient, validity window and amount. No allocation.
/// </summary>
/// <remarks>
/// <para>A check rejects only where every reference facilitator (the official TypeScript one and x402-rs) rejects
/// too; where they differ or a chain is needed the verdict is <see cref="LocalVerdictKind.Unjudged"/> and the payment
/// goes upstream. Checks run in the official facilitator's order, so the first failure carries the reason it would
/// give: v2 scheme, domain, network, signature, recipient, validBefore, validAfter, value; v1 the same without the
/// domain and network checks, which the v1 facilitators resolve from the chain or do not make.</para>
/// <para>A signature is judged only when it is 65 bytes with <c>v</c> of 27/28/0/1 and a low <c>s</c>: longer ones
/// are smart-wallet signatures (ERC-1271/6492), 64-byte ones ERC-2098, and x402-rs repairs high <c>s</c> and EIP-155
/// <c>v</c>; a <c>v</c> no reference accepts is rejected.</para>
/// <para>Hex is judged as the references read it (<see cref="HexForm"/>): a nonce or signature no reference can decode
/// refuses the payment at the signature check, where the official verifier fails it; text only viem refuses (a
/// <c>0X</c> or missing prefix, upper case or a wrong checksum in <c>from</c>/<c>to</c>) is forwarded unjudged unless the
/// signature fails (every reference refuses that), and never leaves the signature marked verified.</para>
/// </remarks>
public sealed class ExactEvmVerifier
{
    private const int ExpiryMarginSeconds = 6;

    private readonly DomainSeparatorCache _domains;
    private readonly TimeProvider _time;
    private readonly bool _assumeEoaPayers;
    private readonly long _clockSkew;
    private readonly long _validAfterSlack;

    public ExactEvmVerifier(LocalVerificationOptions options, TimeProvider time)
    {
        _domains = new DomainSeparatorCache(options.DomainCacheSize);
        _time = time;
        _assumeEoaPayers = options.AssumeEoaPayers;
        _clockSkew = options.ClockSkewSeconds;
        _validAfterSlack = options.ValidAfterSlackSeconds;
    }

    public LocalVerdict Verify(ReadOnlySpan<byte> body, in PaymentRequestView view) => Verify(body, view, out _);

    /// <summary>
    /// The verdict, and what the payment authorizes as far as it could be decoded: <paramref name="facts"/> is filled
    /// once the authorization's fields parse, whatever the verdict.
    /// </summary>
    public LocalVerdict Verify(ReadOnlySpan<byte> body, in PaymentRequestView view, out AuthorizationFacts facts)
    {
        facts = default;
        if (!view[PaymentField.RequirementsScheme].ValueEquals(body, "exact"u8))
        {
            return LocalVerdict.Unjudged(UnjudgedCause.NotExactEvm);
        }

        var network = view[PaymentField.RequirementsNetwork];
        Span<byte> networkText = stackalloc byte[64];
        if (!network.TryCopyUnescaped(body, networkText, out var networkLength))
        {
            return LocalVerdict.Unjudged(UnjudgedCause.NotExactEvm);
        }

        ulong chainId;
        if (view.Version == 2)
        {
            if (!EvmNetworks.TryGetCaip2ChainId(networkText[..networkLength], out chainId))
            {
                return LocalVerdict.Unjudged(UnjudgedCause.NotExactEvm);
            }

            if (!view[PaymentField.AcceptedScheme].ValueEquals(body, "exact"u8))
            {
                return LocalVerdict.Invalid(LocalCheck.Scheme);
            }

            if (!IsEip3009(view))
            {
                return LocalVerdict.Unjudged(UnjudgedCause.NotEip3009);
            }

            var name = view[PaymentField.RequirementsExtraName];
            var version = view[PaymentField.RequirementsExtraVersion];
            if (name.Kind is SliceKind.Absent or SliceKind.Null || version.Kind is SliceKind.Absent or SliceKind.Null)
            {
                return LocalVerdict.Invalid(LocalCheck.MissingEip712Domain);
            }

            if (!view[PaymentField.AcceptedNetwork].ValueEquals(body, network))
            {
                return LocalVerdict.Invalid(LocalCheck.NetworkMismatch);
            }
        }
        else
        {
            if (!EvmNetworks.TryGetV1ChainId(networkText[..networkLength], out chainId))
            {
                return LocalVerdict.Unjudged(UnjudgedCause.NotExactEvm);
            }

            if (!view[PaymentField.PayloadScheme].ValueEquals(body, "exact"u8))
            {
                return LocalVerdict.Invalid(LocalCheck.Scheme);
            }

            if (!IsEip3009(view))
            {
                return LocalVerdict.Unjudged(UnjudgedCause.NotEip3009);
            }

            if (!view[PaymentField.PayloadNetwork].ValueEquals(body, network))
            {
                return LocalVerdict.Unjudged(UnjudgedCause.PayloadNetworkDiffers);
            }
        }

        return VerifyAuthorization(body, view, chainId, ref facts);
    }

    /// <summary>
    /// An EIP-3009 payment has an <c>authorization</c> and no <c>permit2Authorization</c>; the official facilitator
    /// sends any payload with the latter down its Permit2 path, which needs no EIP-712 domain in <c>extra</c>.
    /// </summary>
    private static bool IsEip3009(in PaymentRequestView view) =>
        view[PaymentField.Permit2Authorization].Kind == SliceKind.Absent && view[PaymentField.From].Kind != SliceKind.Absent;

    private LocalVerdict VerifyAuthorization(ReadOnlySpan<byte> body, in PaymentRequestView view, ulong chainId, ref AuthorizationFacts facts)
    {
        // What no facilitator can decode refuses the payment whatever else it holds: the official verifier fails it at
        // the signature check (the first after the domain and network ones), the others refuse to deserialize it.
        var signatureSlice = view[PaymentField.Signature];
        var nonceForm = ReadNonce(body, view[PaymentField.Nonce], out var nonce);
        var signatureForm = SignatureForm(body, signatureSlice, out var signatureLength);
        if (nonceForm == HexForm.Malformed)
        {
            return LocalVerdict.Invalid(LocalCheck.MalformedNonce);
        }

        if (signatureForm == HexForm.Malformed)
        {
            return LocalVerdict.Invalid(LocalCheck.Signature);
        }

        Span<byte> name = stackalloc byte[128];
        Span<byte> version = stackalloc byte[32];
        if (!view[PaymentField.RequirementsExtraName].TryCopyUnescaped(body, name, out var nameLength) || nameLength == 0
            || !view[PaymentField.RequirementsExtraVersion].TryCopyUnescaped(body, version, out var versionLength) || versionLength == 0)
        {
            return LocalVerdict.Unjudged(UnjudgedCause.NoDomain);
        }

        TransferAuthorization authorization = default;
        var addressForm = TryDecode(body, view, ref authorization, out var payTo, out var asset, out var required);
        if (addressForm >= HexForm.Unread || nonceForm >= HexForm.Unread)
        {
            return LocalVerdict.Unjudged(UnjudgedCause.MalformedAuthorization);
        }

        authorization.Nonce = nonce;
        var prefixesCanonical = addressForm == HexForm.Canonical && nonceForm == HexForm.Canonical && signatureForm != HexForm.NonCanonical;
        facts.ChainId = chainId;
        facts.Asset = asset;
        facts.Authorization = authorization;
        facts.PayTo = payTo;
        facts.Required = required;
        var signatureUnjudged = UnjudgedCause.SignatureNotEcdsa;
        var signatureInvalid = false;
        if (signatureForm != HexForm.Unread)
        {
            signatureUnjudged = CheckSignature(
                signatureSlice.RawIn(body), signatureLength, chainId, name[..nameLength], version[..versionLength],
                authorization, asset, ref facts, out signatureInvalid);
        }

        if (signatureInvalid)
        {
            return LocalVerdict.Invalid(LocalCheck.Signature);
        }

        // The case of from/to is looked at only now, so refusing a bad signature costs no checksum.
        if (!prefixesCanonical || !CaseAccepted(body, view, authorization))
        {
            // Text viem refuses and other references read: they disagree, whatever the checks below would say. Nor may
            // such a copy act for the payer in the settlement ledger, though its signature recovers.
            facts.SignatureVerified = false;
            return LocalVerdict.Unjudged(UnjudgedCause.NonCanonicalHex);
        }

        if (!authorization.To.Equals(payTo))
        {
            return LocalVerdict.Invalid(LocalCheck.Recipient);
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var validBefore = authorization.ValidBefore.SaturatedUInt64;
        if (validBefore < (ulong)Math.Max(now + ExpiryMarginSeconds - _clockSkew, 0))
        {
            return LocalVerdict.Invalid(LocalCheck.ValidBefore);
        }

        var validAfter = authorization.ValidAfter.SaturatedUInt64;
        if (validAfter > (ulong)Math.Max(now + _validAfterSlack, 0))
        {
            return LocalVerdict.Invalid(LocalCheck.ValidAfter);
        }

        if (authorization.Value < required)
        {
            return LocalVerdict.Invalid(LocalCheck.Value);
        }

        if (signatureUnjudged != UnjudgedCause.None)
        {
            return LocalVerdict.Unjudged(signatureUnjudged);
        }

        if (validBefore < (ulong)Math.Max(now + ExpiryMarginSeconds, 0) || validAfter > (ulong)Math.Max(now, 0))
        {
            return LocalVerdict.Unjudged(UnjudgedCause.NearValidityBoundary);
        }

        return authorization.Value > required ? LocalVerdict.Unjudged(UnjudgedCause.Overpayment) : LocalVerdict.Valid;
    }

    /// <summary>
    /// The EIP-712 digest the payer signed, from the request's authorization and the token domain of its requirements;
    /// false when a field is missing or malformed. For tests and tools; <see cref="Verify"/> computes it itself.
    /// </summary>
    public static bool TryComputeDigest(ReadOnlySpan<byte> body, in PaymentRequestView view, Span<byte> digest)
    {
        Span<byte> network = stackalloc byte[64];
        Span<byte> name = stackalloc byte[128];
        Span<byte> version = stackalloc byte[32];
        TransferAuthorization authorization = default;
        if (!view[PaymentField.RequirementsNetwork].TryCopyUnescaped(body, network, out var networkLength)
            || !(view.Version == 2
                ? EvmNetworks.TryGetCaip2ChainId(network[..networkLength], out var chainId)
                : EvmNetworks.TryGetV1ChainId(network[..networkLength], out chainId))
            || !view[PaymentField.RequirementsExtraName].TryCopyUnescaped(body, name, out var nameLength)
            || !view[PaymentField.RequirementsExtraVersion].TryCopyUnescaped(body, version, out var versionLength)
            || TryDecode(body, view, ref authorization, out _, out var asset, out _) >= HexForm.Unread
            || ReadNonce(body, view[PaymentField.Nonce], out authorization.Nonce) >= HexForm.Unread)
        {
            return false;
        }

        Span<byte> separator = stackalloc byte[32];
        Span<byte> structHash = stackalloc byte[32];
        Eip712.ComputeDomainSeparator(name[..nameLength], version[..versionLength], chainId, asset, separator);
        authorization.ComputeStructHash(structHash);
        Eip712.ComputeDigest(separator, structHash, digest);
        return true;
    }

    /// <summary>
    /// Judges the signature (<paramref name="text"/>, hex of <paramref name="length"/> bytes); returns why it cannot be
    /// judged, or sets <paramref name="invalid"/>.
    /// </summary>
    private UnjudgedCause CheckSignature(
        ReadOnlySpan<byte> text,
        int length,
        ulong chainId,
        ReadOnlySpan<byte> name,
        ReadOnlySpan<byte> version,
        in TransferAuthorization authorization,
        in EvmAddress asset,
        ref AuthorizationFacts facts,
        out bool invalid)
    {
        invalid = false;
        if (length != Secp256k1.SignatureSize)
        {
            facts.Decoded = DigestSignature(text, length, ref facts.SignatureDigest);
            return UnjudgedCause.SignatureNotEcdsa;
        }

        Span<byte> signature = stackalloc byte[Secp256k1.SignatureSize];
        HexBytes.TryDecodeExact(text, signature, requirePrefix: false);
        SHA256.HashData(signature, facts.SignatureDigest);
        facts.Decoded = true;

        Span<byte> separator = stackalloc byte[32];
        Span<byte> structHash = stackalloc byte[32];
        Span<byte> digest = stackalloc byte[32];
        _domains.GetSeparator(name, version, chainId, asset, separator);
        authorization.ComputeStructHash(structHash);
        Eip712.ComputeDigest(separator, structHash, digest);

        Span<byte> signer = stackalloc byte[EvmAddress.Size];
        switch (Secp256k1.TryRecoverAddress(digest, signature, signer))
        {
            case SignatureCheck.Recovered when signer.SequenceEqual(authorization.From):
                facts.SignatureVerified = true;
                return UnjudgedCause.None;
            case SignatureCheck.InvalidRecoveryId when signature[64] >= 35:
            case SignatureCheck.HighS:
                return UnjudgedCause.SignatureNotCanonical;
            case SignatureCheck.InvalidRecoveryId:
            default:
                invalid = _assumeEoaPayers;
                return _assumeEoaPayers ? UnjudgedCause.None : UnjudgedCause.SignerMayBeContract;
        }
    }

    /// <summary>SHA-256 of a signature of any length (smart-wallet signatures run to kilobytes), decoded from its hex.</summary>
    private static bool DigestSignature(ReadOnlySpan<byte> text, int length, ref Bytes32 digest)
    {
        var rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        var bytes = rented is null ? stackalloc byte[512] : rented;
        try
        {
            if (!HexBytes.TryDecodeExact(text, bytes[..length], requirePrefix: false))
            {
                return false;
            }

            SHA256.HashData(bytes[..length], digest);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Decodes the authorization's addresses and numbers and the requirements'; the result is the worst form among the
    /// addresses (<see cref="HexForm.Unread"/> when a field could not be read at all). The nonce is read apart.
    /// </summary>
    private static HexForm TryDecode(
        ReadOnlySpan<byte> body,
        in PaymentRequestView view,
        ref TransferAuthorization authorization,
        out EvmAddress payTo,
        out EvmAddress asset,
        out UInt256 required)
    {
        required = default;
        var amount = view.Version == 2 ? view[PaymentField.RequirementsAmount] : view[PaymentField.RequirementsMaxAmountRequired];
        var form = Max(
            Max(Address(body, view[PaymentField.From], out authorization.From), Address(body, view[PaymentField.To], out authorization.To)),
            Max(Address(body, view[PaymentField.RequirementsPayTo], out payTo), Address(body, view[PaymentField.RequirementsAsset], out asset)));
        return form < HexForm.Unread
            && Decimal(body, view[PaymentField.Value], out authorization.Value)
            && Decimal(body, view[PaymentField.ValidAfter], out authorization.ValidAfter)
            && Decimal(body, view[PaymentField.ValidBefore], out authorization.ValidBefore)
            && Decimal(body, amount, out required)
            ? form
            : HexForm.Unread;
    }

    private static HexForm Max(HexForm left, HexForm right) => left > right ? left : right;

    /// <summary>
    /// An address as viem's <c>getAddress</c> reads it (the official verifier's for <c>payTo</c> and <c>asset</c>): any
    /// case, but only a lower-case <c>0x</c>. Others also read <c>0X</c> and bare digits.
    /// </summary>
    private static HexForm Address(ReadOnlySpan<byte> body, Utf8Slice slice, out EvmAddress address)
    {
        address = default;
        if (slice is not { IsString: true, IsEscaped: false } || !HexBytes.TryDecodeExact(slice.RawIn(body), address, requirePrefix: false))
        {
            return HexForm.Unread;
        }

        return HexBytes.PrefixOf(slice.RawIn(body)) == HexPrefix.Lower ? HexForm.Canonical : HexForm.NonCanonical;
    }

    /// <summary>
    /// Whether viem's strict <c>isAddress</c> takes the case of <c>from</c> and <c>to</c> (the official verifier applies
    /// it when it hashes the typed data): lower case or exactly the EIP-55 checksum. Both carry a lower-case <c>0x</c>.
    /// </summary>
    private static bool CaseAccepted(ReadOnlySpan<byte> body, in PaymentRequestView view, in TransferAuthorization authorization) =>
        Eip55.IsAcceptedCase(view[PaymentField.From].RawIn(body)[2..], authorization.From)
        && Eip55.IsAcceptedCase(view[PaymentField.To].RawIn(body)[2..], authorization.To);

    /// <summary>
    /// The nonce, as 32 bytes: <see cref="HexForm.Malformed"/> when no reference can read them from it (not a string,
    /// not hex, another length); an escaped string is read only to tell that.
    /// </summary>
    private static HexForm ReadNonce(ReadOnlySpan<byte> body, Utf8Slice slice, out Bytes32 nonce)
    {
        nonce = default;
        if (!slice.IsString)
        {
            return HexForm.Malformed;
        }

        if (slice.IsEscaped)
        {
            // Longer than 0x and 64 digits once unescaped, or not unescapable, it is nothing any reference reads. (The
            // buffer is as large as the slice unescapes into at all: the reader copies through one of the escaped size.)
            Span<byte> text = stackalloc byte[512];
            return slice.TryCopyUnescaped(body, text, out var length) && NonceForm(text[..length], out _) != HexForm.Malformed
                ? HexForm.Unread
                : HexForm.Malformed;
        }

        return NonceForm(slice.RawIn(body), out nonce);
    }

    /// <summary>viem reads <c>0x</c> and 64 digits of either case; x402-rs (alloy) also bare digits; nobody anything else.</summary>
    private static HexForm NonceForm(ReadOnlySpan<byte> text, out Bytes32 nonce)
    {
        nonce = default;
        if (!HexBytes.TryDecodeExact(text, nonce, requirePrefix: false))
        {
            return HexForm.Malformed;
        }

        return HexBytes.PrefixOf(text) == HexPrefix.Lower ? HexForm.Canonical : HexForm.NonCanonical;
    }

    /// <summary>
    /// The signature's form and decoded <paramref name="length"/>: <see cref="HexForm.Malformed"/> when it is not a string
    /// (the official verifier throws, x402-rs refuses the body) or not hex of whole bytes; viem reads only <c>0x</c>.
    /// </summary>
    private static HexForm SignatureForm(ReadOnlySpan<byte> body, Utf8Slice slice, out int length)
    {
        length = -1;
        if (!slice.IsString)
        {
            return HexForm.Malformed;
        }

        if (slice.IsEscaped)
        {
            return HexForm.Unread;
        }

        var text = slice.RawIn(body);
        length = HexBytes.DecodedLength(text, requirePrefix: false);
        return length < 0 ? HexForm.Malformed
            : HexBytes.PrefixOf(text) == HexPrefix.Lower ? HexForm.Canonical
            : HexForm.NonCanonical;
    }

    private static bool Decimal(ReadOnlySpan<byte> body, Utf8Slice slice, out UInt256 value)
    {
        value = default;
        return slice is { IsString: true, IsEscaped: false } && UInt256.TryParseDecimal(slice.RawIn(body), out value);
    }
}
