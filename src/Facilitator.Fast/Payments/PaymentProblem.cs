using Facilitator.Fast.Evm;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Why a <c>/v1</c> request could not be served, in the seed's error vocabulary: a code, its HTTP status, a message, and
/// per-field details for a validation error.
/// </summary>
public sealed record PaymentProblem(int Status, string Code, string Message, IReadOnlyList<(string Field, string Message)>? Details = null)
{
    public const string InvalidProof = "INVALID_PROOF";
    public const string InvalidSignature = "INVALID_SIGNATURE";
    public const string ExpiredProof = "EXPIRED_PROOF";
    public const string InsufficientAmount = "INSUFFICIENT_AMOUNT";
    public const string UnsupportedNetwork = "UNSUPPORTED_NETWORK";
    public const string RequirementsNotMet = "REQUIREMENTS_NOT_MET";
    public const string NotImplemented = "NOT_IMPLEMENTED";
    public const string ValidationError = "VALIDATION_ERROR";
    public const string NotFound = "NOT_FOUND";
    public const string UpstreamUnavailable = "UPSTREAM_UNAVAILABLE";

    public static PaymentProblem Validation(string message, string? field = null) =>
        new(400, ValidationError, message, field is null ? null : [(field, message)]);

    public static PaymentProblem Unavailable(string message) => new(503, UpstreamUnavailable, message);

    public static PaymentProblem Expired(string message) => new(410, ExpiredProof, message);

    /// <summary>The code for a payment local verification rejected.</summary>
    public static PaymentProblem ForLocalCheck(LocalCheck check, string message) => check switch
    {
        LocalCheck.Signature => new(400, InvalidSignature, message),
        LocalCheck.ValidBefore => new(410, ExpiredProof, message),
        LocalCheck.Value => new(402, InsufficientAmount, message),
        LocalCheck.Recipient or LocalCheck.NetworkMismatch => new(422, RequirementsNotMet, message),
        LocalCheck.Scheme => new(501, NotImplemented, message),
        _ => new(400, InvalidProof, message),
    };

    /// <summary>The code for an upstream's <c>invalidReason</c> (the official reason strings, read by what they name).</summary>
    public static PaymentProblem ForUpstreamReason(string? reason, string upstreamId)
    {
        var text = reason ?? "";
        var message = $"Facilitator '{upstreamId}' found the payment invalid: {(reason is null ? "no reason given" : reason)}.";
        return text.Contains("signature", StringComparison.Ordinal) ? new(400, InvalidSignature, message)
            : text.Contains("valid_before", StringComparison.Ordinal) || text.Contains("expired", StringComparison.Ordinal) ? new(410, ExpiredProof, message)
            : text.Contains("insufficient", StringComparison.Ordinal) || text.Contains("value", StringComparison.Ordinal) ? new(402, InsufficientAmount, message)
            : text.Contains("recipient", StringComparison.Ordinal) || text.Contains("network", StringComparison.Ordinal)
                || text.Contains("asset", StringComparison.Ordinal) || text.Contains("scheme", StringComparison.Ordinal) ? new(422, RequirementsNotMet, message)
            : new(400, InvalidProof, message);
    }
}
