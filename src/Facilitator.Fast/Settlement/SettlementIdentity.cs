using System.Buffers.Binary;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>
/// How the ledger knows one settle request: the key its record lives under, the fingerprint of what it authorizes (a
/// record answers only requests with the same fingerprint), and whether only the payer can have made it.
/// </summary>
/// <remarks>
/// Keys and fingerprints are SHA-256 digests of binary fields decoded from the payment, never of its strings, so they
/// have one size whatever the request holds, and differently cased or differently named copies of one payment
/// (<c>base-sepolia</c> and <c>eip155:84532</c>) are one settlement.
/// <list type="table">
/// <listheader><term>payment</term><description>key</description></listheader>
/// <item><term>EIP-3009, signature recovered to <c>from</c></term><description>(chain id, asset, payer, nonce): what the
/// token contract spends once. A different authorization under it is a reuse of the nonce by the payer.</description></item>
/// <item><term>EIP-3009 whose signature could not be checked (contract wallets, other encodings)</term><description>its own
/// fingerprint: anyone could have sent it, so it must not occupy the payer's nonce. <see cref="NonceKey"/> is still
/// consulted for a verified record of another authorization.</description></item>
/// <item><term>anything else (Permit2, other chains, unreadable fields)</term><description>the bytes of its
/// <c>paymentPayload</c>; the fingerprint adds the bytes of its <c>paymentRequirements</c>.</description></item>
/// </list>
/// The fingerprint covers the chain id, asset, <c>from</c>, <c>to</c>, value, validity window, nonce, the signature's
/// bytes, and the requirements' <c>payTo</c> and amount: a settled authorization presented for a different price is a
/// different request.
/// </remarks>
public readonly struct SettlementIdentity
{
    private static ReadOnlySpan<byte> AuthorizationTag => "facilitator.fast/settlement/authorization/v1"u8;

    private static ReadOnlySpan<byte> FingerprintTag => "facilitator.fast/settlement/fingerprint/v1"u8;

    private static ReadOnlySpan<byte> UnverifiedTag => "facilitator.fast/settlement/unverified/v1"u8;

    private static ReadOnlySpan<byte> PayloadTag => "facilitator.fast/settlement/payload/v1"u8;

    private static ReadOnlySpan<byte> PayloadFingerprintTag => "facilitator.fast/settlement/payload-fingerprint/v1"u8;

    public SettlementKeyKind Kind { get; init; }

    public Sha256Hash Key { get; init; }

    public Sha256Hash Fingerprint { get; init; }

    /// <summary>The signature was recovered to the payer: only the payer can have made this authorization.</summary>
    public bool Verified { get; init; }

    /// <summary>For a decoded authorization whose signature was not checked: the key of (chain id, asset, payer, nonce).</summary>
    public Sha256Hash? NonceKey { get; init; }

    /// <summary>The authorization's <c>validBefore</c> (Unix seconds), or 0 when the payment has none the ledger could read.</summary>
    public ulong ValidBeforeSeconds { get; init; }

    /// <summary>
    /// SHA-256 of the whole request: a failure is replayed only to the very same request, so a copy that differs in a
    /// field outside the fingerprint cannot make the real one fail.
    /// </summary>
    public Sha256Hash RequestDigest { get; init; }

    /// <summary>The identity of the settle request in <paramref name="body"/>; false only for a body without a payload.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> body, in PaymentRequestView view, in AuthorizationFacts facts, out SettlementIdentity identity)
    {
        var requestDigest = Sha256Hash.Of(body);
        if (facts.Decoded)
        {
            var fingerprint = FingerprintOf(facts);
            var authorizationKey = AuthorizationKeyOf(facts);
            identity = facts.SignatureVerified
                ? new SettlementIdentity { Kind = SettlementKeyKind.Authorization, Key = authorizationKey, Fingerprint = fingerprint, Verified = true }
                : new SettlementIdentity { Kind = SettlementKeyKind.Unverified, Key = Tagged(UnverifiedTag, fingerprint), Fingerprint = fingerprint, NonceKey = authorizationKey };
            identity = identity with { ValidBeforeSeconds = facts.Authorization.ValidBefore.SaturatedUInt64, RequestDigest = requestDigest };
            return true;
        }

        var (start, length) = view.PaymentPayloadRange;
        if (length <= 0)
        {
            identity = default;
            return false;
        }

        // The payload's bytes are the key: what the upstream will execute. The fingerprint adds the requirements', so
        // a payment settled for one price or payee is not told it settled for another.
        var payload = Sha256Hash.Of(body.Slice(start, length));
        var (requirementsStart, requirementsLength) = view.RequirementsRange;
        Span<byte> both = stackalloc byte[PayloadFingerprintTag.Length + Sha256Hash.Size * 2];
        PayloadFingerprintTag.CopyTo(both);
        payload.WriteTo(both[PayloadFingerprintTag.Length..]);
        Sha256Hash.Of(body.Slice(requirementsStart, requirementsLength)).WriteTo(both[(PayloadFingerprintTag.Length + Sha256Hash.Size)..]);
        identity = new SettlementIdentity
        {
            Kind = SettlementKeyKind.Payload,
            Key = Tagged(PayloadTag, payload),
            Fingerprint = Sha256Hash.Of(both),
            RequestDigest = requestDigest,
        };
        return true;
    }

    private static Sha256Hash AuthorizationKeyOf(in AuthorizationFacts facts)
    {
        Span<byte> buffer = stackalloc byte[AuthorizationTag.Length + 8 + EvmAddress.Size * 2 + Bytes32.Size];
        var at = Write(buffer, 0, AuthorizationTag);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[at..], facts.ChainId);
        at += 8;
        at = Write(buffer, at, facts.Asset);
        at = Write(buffer, at, facts.Authorization.From);
        Write(buffer, at, facts.Authorization.Nonce);
        return Sha256Hash.Of(buffer);
    }

    private static Sha256Hash FingerprintOf(in AuthorizationFacts facts)
    {
        Span<byte> buffer = stackalloc byte[FingerprintTag.Length + 8 + EvmAddress.Size * 4 + 32 * 6];
        var at = Write(buffer, 0, FingerprintTag);
        BinaryPrimitives.WriteUInt64BigEndian(buffer[at..], facts.ChainId);
        at += 8;
        at = Write(buffer, at, facts.Asset);
        at = Write(buffer, at, facts.Authorization.From);
        at = Write(buffer, at, facts.Authorization.To);
        at = Write(buffer, at, facts.Authorization.Value);
        at = Write(buffer, at, facts.Authorization.ValidAfter);
        at = Write(buffer, at, facts.Authorization.ValidBefore);
        at = Write(buffer, at, facts.Authorization.Nonce);
        at = Write(buffer, at, facts.SignatureDigest);
        at = Write(buffer, at, facts.PayTo);
        Write(buffer, at, facts.Required);
        return Sha256Hash.Of(buffer);
    }

    private static Sha256Hash Tagged(ReadOnlySpan<byte> tag, Sha256Hash digest)
    {
        Span<byte> buffer = stackalloc byte[tag.Length + Sha256Hash.Size];
        tag.CopyTo(buffer);
        digest.WriteTo(buffer[tag.Length..]);
        return Sha256Hash.Of(buffer);
    }

    private static int Write(Span<byte> buffer, int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(buffer[at..]);
        return at + bytes.Length;
    }

    private static int Write(Span<byte> buffer, int at, UInt256 value)
    {
        value.WriteBigEndian(buffer.Slice(at, 32));
        return at + 32;
    }
}

/// <summary>What a settlement's key stands for, which also says how a reuse of it is refused.</summary>
public enum SettlementKeyKind : byte
{
    /// <summary>(chain id, asset, payer, nonce) of an EIP-3009 authorization whose signature was checked.</summary>
    Authorization = 0,

    /// <summary>The fingerprint of an EIP-3009 authorization whose signature could not be checked.</summary>
    Unverified,

    /// <summary>The bytes of a payload the ledger could not read as an EIP-3009 authorization.</summary>
    Payload,
}
