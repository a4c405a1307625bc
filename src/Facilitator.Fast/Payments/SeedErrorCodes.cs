using Facilitator.Fast.Edge;

namespace Facilitator.Fast.Payments;

/// <summary>
/// The error codes of the seed's <c>/v1</c> API and their HTTP statuses (seed-types.md), in one place so that the
/// translator, the endpoints and the tests cannot disagree on a status. <c>REQUIREMENTS_NOT_MET</c> is 422 everywhere,
/// although the seed's verify route answers 400.
/// </summary>
public static class SeedErrorCodes
{
    public const string InvalidProof = "INVALID_PROOF";
    public const string InvalidSignature = "INVALID_SIGNATURE";
    public const string ExpiredProof = "EXPIRED_PROOF";
    public const string InsufficientAmount = "INSUFFICIENT_AMOUNT";
    public const string UnsupportedNetwork = "UNSUPPORTED_NETWORK";
    public const string RequirementsNotMet = "REQUIREMENTS_NOT_MET";
    public const string NotImplemented = "NOT_IMPLEMENTED";
    public const string ValidationError = ApiErrorWriter.ValidationError;
    public const string NotFound = ApiErrorWriter.NotFound;

    /// <summary>No upstream could serve the request (or the payment store cannot): nothing was decided; retry.</summary>
    public const string UpstreamUnavailable = ApiErrorWriter.UpstreamUnavailable;

    /// <summary>The HTTP status the seed's global error handler gives <paramref name="code"/>.</summary>
    public static int StatusOf(string code) => code switch
    {
        InvalidProof or InvalidSignature or ValidationError => StatusCodes.Status400BadRequest,
        ExpiredProof => StatusCodes.Status410Gone,
        InsufficientAmount => StatusCodes.Status402PaymentRequired,
        RequirementsNotMet => StatusCodes.Status422UnprocessableEntity,
        UnsupportedNetwork or NotImplemented => StatusCodes.Status501NotImplemented,
        NotFound => StatusCodes.Status404NotFound,
        UpstreamUnavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };
}
