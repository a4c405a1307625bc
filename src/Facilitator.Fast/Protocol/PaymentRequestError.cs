namespace Facilitator.Fast.Protocol;

/// <summary>Why a body is not a facilitator request; each maps to an official reason and a message.</summary>
public enum PaymentRequestError : byte
{
    None = 0,
    MalformedJson,
    NotAnObject,
    MissingVersion,
    UnsupportedVersion,
    MissingPaymentPayload,
    MissingPaymentRequirements,
    DuplicateField,

    /// <summary><c>paymentPayload.x402Version</c> is not the request's <c>x402Version</c> (facilitators dispatch on the former).</summary>
    PayloadVersionMismatch,
}
