using Facilitator.Fast.Edge;
using Facilitator.Fast.Evm;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Why a seed-shape payment was refused, ready for <see cref="ApiErrorWriter.WriteAsync"/>: the seed's code, its HTTP
/// status, a sentence, and one detail per offending field (dotted paths such as <c>proof.payload.nonce</c>).
/// </summary>
internal sealed record SeedPaymentError(string Code, int Status, string Message, IReadOnlyList<ApiErrorWriter.FieldError> Details)
{
    public static SeedPaymentError Of(string code, string message, IReadOnlyList<ApiErrorWriter.FieldError>? details = null) =>
        new(code, SeedErrorCodes.StatusOf(code), message, details ?? []);

    /// <summary>
    /// The seed's answer to a payment that translated but failed a local check: a bad signature is
    /// <c>INVALID_SIGNATURE</c>, an expired authorization <c>EXPIRED_PROOF</c>, one not valid yet <c>INVALID_PROOF</c>.
    /// The translator already refuses what the other checks would catch, so those map to the codes it gives.
    /// </summary>
    public static SeedPaymentError ForLocalCheck(LocalCheck check) => check switch
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
}
