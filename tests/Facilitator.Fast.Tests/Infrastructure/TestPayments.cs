namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// Well-formed x402 request bodies, v1 and v2, as the official clients send them: one authorization, signed once per
/// test run and valid by the real clock for all of it, so local verification lets them through.
/// </summary>
internal static class TestPayments
{
    private static readonly PaymentSigner.Payer Signer = PaymentSigner.CreatePayer(0);

    /// <summary>When <see cref="V1"/> and <see cref="V2"/> were signed, in whole seconds: valid from 600 s before to 3600 s after.</summary>
    /// <remarks>A <see cref="ManualTimeProvider"/> started here accepts them as long as a test advances it less than an hour.</remarks>
    public static readonly DateTimeOffset SignedAt = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    /// <summary>The payer (<c>authorization.from</c>) of <see cref="V1"/> and <see cref="V2"/>.</summary>
    public static readonly string Payer = Signer.Address;

    public static readonly string V1 = Sign(1);

    /// <summary>With <c>paymentPayload.extensions</c> no facilitator knows, which must be forwarded as they are.</summary>
    public static readonly string V2 = Sign(2);

    private static string Sign(int x402Version)
    {
        var now = SignedAt.ToUnixTimeSeconds();
        return PaymentSigner.Request(
            Signer, x402Version, now - 600, now + 3600, description: "Premium data", extensions: """{"bazaar":{"info":{"kept":true}}}""");
    }
}
