using System.Diagnostics.CodeAnalysis;

namespace Facilitator.Fast.Payments;

/// <summary>
/// The outcome of <see cref="SeedPaymentTranslator.Translate"/>: an x402 v2 request and what it authorizes, or the
/// seed's error answer. A translated payment is not yet verified: local verification and the upstream judge it.
/// </summary>
internal sealed class SeedTranslation
{
    private SeedTranslation(byte[]? request, SeedPayment? payment, PaymentProblem? error)
    {
        Request = request;
        Payment = payment;
        Error = error;
    }

    [MemberNotNullWhen(true, nameof(Request), nameof(Payment))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Succeeded => Error is null;

    /// <summary>
    /// The UTF-8 bytes of <c>{x402Version:2, paymentPayload, paymentRequirements}</c>, to be read by
    /// <c>PaymentRequestReader</c> and judged and forwarded exactly like a body posted to <c>/verify</c>.
    /// </summary>
    public byte[]? Request { get; }

    public SeedPayment? Payment { get; }

    public PaymentProblem? Error { get; }

    public static SeedTranslation Success(byte[] request, SeedPayment payment) => new(request, payment, null);

    public static SeedTranslation Failure(PaymentProblem error) => new(null, null, error);
}
