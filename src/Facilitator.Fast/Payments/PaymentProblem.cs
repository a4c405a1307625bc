using Facilitator.Fast.Edge;
using Facilitator.Fast.Evm;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Why a <c>/v1</c> request could not be served, ready for <see cref="ApiErrorWriter.WriteAsync"/>: the seed's code, its
/// HTTP status (<see cref="SeedErrorCodes.StatusOf"/>), a sentence, and one detail per offending field (dotted paths such
/// as <c>proof.payload.nonce</c>).
/// </summary>
public sealed record PaymentProblem(string Code, int Status, string Message, IReadOnlyList<ApiErrorWriter.FieldError> Details)
{
    public static PaymentProblem Of(string code, string message, IReadOnlyList<ApiErrorWriter.FieldError>? details = null) =>
        new(code, SeedErrorCodes.StatusOf(code), message, details ?? []);

    public static PaymentProblem Validation(string message, string? field = null) =>
        Of(SeedErrorCodes.ValidationError, message, field is null ? null : [new(field, message)]);

    public static PaymentProblem Unavailable(string message) => Of(SeedErrorCodes.UpstreamUnavailable, message);

    /// <summary>
    /// The seed's answer to a payment that failed a local check: a bad signature is <c>INVALID_SIGNATURE</c>, an expired
    /// authorization <c>EXPIRED_PROOF</c>, one not valid yet <c>INVALID_PROOF</c>, a short amount <c>INSUFFICIENT_AMOUNT</c>,
    /// another payee or network <c>REQUIREMENTS_NOT_MET</c>.
    /// </summary>
    public static PaymentProblem ForLocalCheck(LocalCheck check) => check switch
    {
        LocalCheck.Signature => Of(SeedErrorCodes.InvalidSignature, "The signature is not the payer's EIP-3009 TransferWithAuthorization signature of this payment.",
            [new("proof.signature", "does not recover to proof.payload.from")]),
        LocalCheck.ValidBefore => Of(SeedErrorCodes.ExpiredProof, "The authorization has expired or expires within 6 seconds.",
            [new("proof.payload.deadline", "has passed")]),
        LocalCheck.ValidAfter => Of(SeedErrorCodes.InvalidProof, "The authorization is not valid yet.",
            [new("proof.payload.validAfter", "is in the future")]),
        LocalCheck.Value => Of(SeedErrorCodes.InsufficientAmount, "The signed amount is below the required amount.",
            [new("proof.payload.amount", "is below requirements.amount")]),
        LocalCheck.Recipient => Of(SeedErrorCodes.RequirementsNotMet, "The payment is not to requirements.payTo.",
            [new("proof.payload.to", "differs from requirements.payTo")]),
        LocalCheck.NetworkMismatch => Of(SeedErrorCodes.RequirementsNotMet, "The proof is for another network.",
            [new("proof.network", "differs from requirements.network")]),
        LocalCheck.Scheme => Of(SeedErrorCodes.NotImplemented, "Only the 'exact' scheme can be settled."),
        _ => Of(SeedErrorCodes.InvalidProof, "The payment proof is invalid."),
    };

    /// <summary>The code for an upstream's <c>invalidReason</c> (the official reason strings, read by what they name).</summary>
    public static PaymentProblem ForUpstreamReason(string? reason, string upstreamId)
    {
        var text = reason ?? "";
        var message = $"Facilitator '{upstreamId}' found the payment invalid: {(reason is null ? "no reason given" : reason)}.";
        var code = text.Contains("signature", StringComparison.Ordinal) ? SeedErrorCodes.InvalidSignature
            : text.Contains("valid_before", StringComparison.Ordinal) || text.Contains("expired", StringComparison.Ordinal) ? SeedErrorCodes.ExpiredProof
            : text.Contains("insufficient", StringComparison.Ordinal) || text.Contains("value", StringComparison.Ordinal) ? SeedErrorCodes.InsufficientAmount
            : text.Contains("recipient", StringComparison.Ordinal) || text.Contains("network", StringComparison.Ordinal)
                || text.Contains("asset", StringComparison.Ordinal) || text.Contains("scheme", StringComparison.Ordinal) ? SeedErrorCodes.RequirementsNotMet
            : SeedErrorCodes.InvalidProof;
        return Of(code, message);
    }
}
