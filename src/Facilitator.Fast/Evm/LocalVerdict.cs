using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Evm;

/// <summary>How a payment fared in local verification.</summary>
public enum LocalVerdictKind : byte
{
    /// <summary>Local verification was off or did not run.</summary>
    NotChecked = 0,

    /// <summary>Every local check passed; the upstream still makes the chain checks (balance, nonce, simulation).</summary>
    Valid,

    /// <summary>A check every reference facilitator also fails: answered locally in enforce mode.</summary>
    Invalid,

    /// <summary>Forwarded without a verdict; see <see cref="LocalVerdict.Cause"/>.</summary>
    Unjudged,
}

/// <summary>The outcome of local verification: no allocation, so it can be computed on every request.</summary>
public readonly record struct LocalVerdict(LocalVerdictKind Kind, LocalCheck FailedCheck, UnjudgedCause Cause)
{
    public static LocalVerdict Valid => new(LocalVerdictKind.Valid, LocalCheck.None, UnjudgedCause.None);

    public static LocalVerdict Invalid(LocalCheck check) => new(LocalVerdictKind.Invalid, check, UnjudgedCause.None);

    public static LocalVerdict Unjudged(UnjudgedCause cause) => new(LocalVerdictKind.Unjudged, LocalCheck.None, cause);

    /// <summary>
    /// The official reason for the failed check: the <c>x402</c> package's for v1, <c>@x402/evm</c>'s for v2 (the
    /// packages the official v1 and v2 facilitators are built from).
    /// </summary>
    public string Reason(int x402Version) => (FailedCheck, x402Version) switch
    {
        (LocalCheck.Scheme, 1) => X402Reasons.UnsupportedScheme,
        (LocalCheck.Scheme, _) => "invalid_exact_evm_scheme",
        (LocalCheck.MissingEip712Domain, _) => "invalid_exact_evm_missing_eip712_domain",
        (LocalCheck.NetworkMismatch, _) => "invalid_exact_evm_network_mismatch",
        (LocalCheck.Signature or LocalCheck.MalformedNonce, 1) => "invalid_exact_evm_payload_signature",
        (LocalCheck.Signature or LocalCheck.MalformedNonce, _) => "invalid_exact_evm_signature",
        (LocalCheck.Recipient, 1) => "invalid_exact_evm_payload_recipient_mismatch",
        (LocalCheck.Recipient, _) => "invalid_exact_evm_recipient_mismatch",
        (LocalCheck.ValidBefore, _) => "invalid_exact_evm_payload_authorization_valid_before",
        (LocalCheck.ValidAfter, _) => "invalid_exact_evm_payload_authorization_valid_after",
        (LocalCheck.Value, 1) => "invalid_exact_evm_payload_authorization_value",
        (LocalCheck.Value, _) => "invalid_exact_evm_payload_authorization_value_mismatch",
        _ => "",
    };

    /// <summary>A sentence for <c>invalidMessage</c>/<c>errorMessage</c>.</summary>
    public string Message => FailedCheck switch
    {
        LocalCheck.Scheme => "The payment's scheme is not 'exact'.",
        LocalCheck.MissingEip712Domain => "paymentRequirements.extra must carry the token's EIP-712 domain (name and version).",
        LocalCheck.NetworkMismatch => "paymentPayload.accepted.network differs from paymentRequirements.network.",
        LocalCheck.Signature => "The signature is missing or not hex, or does not recover to authorization.from.",
        LocalCheck.MalformedNonce => "authorization.nonce is not 32 bytes of hex.",
        LocalCheck.Recipient => "authorization.to differs from paymentRequirements.payTo.",
        LocalCheck.ValidBefore => "The authorization expires (validBefore) within 6 seconds or has expired.",
        LocalCheck.ValidAfter => "The authorization is not valid yet (validAfter is in the future).",
        LocalCheck.Value => "authorization.value is below the required amount.",
        _ => "",
    };
}
