namespace Facilitator.Fast.Evm;

/// <summary>
/// The local checks that can reject a payment. Each is one that every reference facilitator (the official
/// TypeScript facilitator and x402-rs) also rejects, so a local rejection never refuses a payment an upstream takes.
/// </summary>
public enum LocalCheck : byte
{
    None = 0,
    Scheme,
    MissingEip712Domain,
    NetworkMismatch,
    Signature,
    Recipient,
    ValidBefore,
    ValidAfter,
    Value,

    /// <summary>
    /// <c>authorization.nonce</c> is not 32 bytes of hex (not a string, not hex, another length): no facilitator can
    /// decode it, and the official one answers its signature reason.
    /// </summary>
    MalformedNonce,
}

/// <summary>Why a payment was forwarded without a local verdict: judging it needs a chain, or the references disagree.</summary>
public enum UnjudgedCause : byte
{
    None = 0,

    /// <summary>Not the <c>exact</c> scheme on an EVM network this table knows.</summary>
    NotExactEvm,

    /// <summary>The payload is not an EIP-3009 authorization (a Permit2 payment, or another payload type).</summary>
    NotEip3009,

    /// <summary>v1: <c>paymentPayload.network</c> differs from the requirements' (the <c>x402</c> facilitator does not compare them).</summary>
    PayloadNetworkDiffers,

    /// <summary>No usable EIP-712 domain in <c>extra</c> (v1 facilitators read it from the chain).</summary>
    NoDomain,

    /// <summary>An authorization field is missing or not in the form the official client writes.</summary>
    MalformedAuthorization,

    /// <summary>Not a 65-byte signature: ERC-1271, ERC-6492 and ERC-2098 signatures need a chain or a reference that reads them.</summary>
    SignatureNotEcdsa,

    /// <summary><c>v</c> outside 27/28/0/1, or <c>s</c> above n/2: x402-rs normalises both, so only the chain decides.</summary>
    SignatureNotCanonical,

    /// <summary>The signature does not recover to <c>from</c>, which may be a smart-contract wallet (with <c>AssumeEoaPayers</c> off).</summary>
    SignerMayBeContract,

    /// <summary>The value is above the required amount: accepted by some references, refused by others.</summary>
    Overpayment,

    /// <summary>
    /// <c>validBefore</c> or <c>validAfter</c> is within the clock tolerances of a limit: the upstream, looking a
    /// little later with its own clock, may judge it either way.
    /// </summary>
    NearValidityBoundary,

    /// <summary>
    /// <c>from</c>, <c>to</c>, the nonce or the signature written in a form the official verifier (viem) refuses and
    /// others read — a <c>0X</c> or no prefix, upper-case hex, a wrong EIP-55 checksum — or <c>payTo</c>/<c>asset</c>
    /// with a prefix other than <c>0x</c>: the references disagree. Never verified for the settlement ledger either.
    /// </summary>
    NonCanonicalHex,
}
