namespace Facilitator.Fast.Protocol;

/// <summary>
/// Official x402 reason strings (<c>invalidReason</c>/<c>errorReason</c>), as the <c>x402</c> package's
/// <c>ErrorReasons</c> and <c>@x402/evm</c> spell them, so the official clients and resource servers recognise them.
/// </summary>
public static class X402Reasons
{
    public const string InvalidPayload = "invalid_payload";
    public const string InvalidPaymentRequirements = "invalid_payment_requirements";
    public const string InvalidX402Version = "invalid_x402_version";
    public const string UnsupportedScheme = "unsupported_scheme";
    public const string UnexpectedVerifyError = "unexpected_verify_error";
    public const string UnexpectedSettleError = "unexpected_settle_error";

    /// <summary><c>@x402/evm</c>'s reason for a settlement whose outcome is not known yet.</summary>
    public const string SettlementPending = "settlement_pending";

    /// <summary>
    /// <c>@x402/evm</c>'s (and Coinbase CDP's) reason for an EIP-3009 authorization whose nonce is already used: the
    /// gateway's answer to a different authorization that reuses the payer's nonce of one it settled, is settling, or
    /// holds pending.
    /// </summary>
    public const string NonceAlreadyUsed = "invalid_exact_evm_nonce_already_used";

    /// <summary>
    /// The <c>x402</c> package's reason for a payment settled already: the gateway's answer to a payload it could not
    /// read as an EIP-3009 authorization, presented again under other requirements while settled, settling or pending.
    /// </summary>
    public const string DuplicateSettlement = "duplicate_settlement";

    /// <summary>
    /// The gateway's reason (no official one exists) for a <c>payment-identifier</c> id first used with another request:
    /// answered with 409, as the extension prescribes.
    /// </summary>
    public const string PaymentIdentifierConflict = "payment_identifier_conflict";

    /// <summary>The gateway's reason for a <c>payment-identifier</c> extension whose id is malformed, or required and missing: 400.</summary>
    public const string InvalidPaymentIdentifier = "invalid_payment_identifier";

    /// <summary>The reason for a body that is not a facilitator request.</summary>
    public static string For(PaymentRequestError error) => error switch
    {
        PaymentRequestError.MissingVersion or PaymentRequestError.UnsupportedVersion or PaymentRequestError.PayloadVersionMismatch => InvalidX402Version,
        PaymentRequestError.MissingPaymentRequirements => InvalidPaymentRequirements,
        _ => InvalidPayload,
    };
}
