using System.Text.Json.Nodes;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>
/// Every committed seed-shape vector through the translator and then, when it translates, through the service's own
/// reader and local verifier in enforce mode at the vector's "now" — the path <c>/v1/verify</c> takes. The expected
/// x402 body in each vector is the one the official facilitator judged when the vectors were generated.
/// </summary>
public sealed class SeedPaymentTranslatorVectorTests
{
    public static TheoryData<string> Names => new(SeedVectors.All.Select(c => c.Name));

    [Fact]
    public void Vectors_CoverValidTamperedAndRefusedPaymentsOnTestnetAndMainnet()
    {
        Assert.Contains(SeedVectors.All, c => c.Local == "valid" && c.Name.StartsWith("seed/base-sepolia/", StringComparison.Ordinal));
        Assert.Contains(SeedVectors.All, c => c.Local == "valid" && c.Name.StartsWith("seed/base/", StringComparison.Ordinal));
        foreach (var kind in new[] { "wrong-signature", "wrong-payee", "amount-too-low", "expired", "unknown-network", "bad-nonce" })
        {
            Assert.Contains(SeedVectors.All, c => c.Kind == kind);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Translate_Vector_GivesTheExpectedAnswer(string name)
    {
        var vector = SeedVectors.All.Single(c => c.Name == name);

        var translation = SeedPaymentTranslator.Translate(vector.Body);

        if (vector.Code is not null)
        {
            Assert.False(translation.Succeeded);
            Assert.Equal(vector.Code, translation.Error.Code);
            Assert.Equal(vector.Status, translation.Error.Status);
            Assert.Equal(vector.Fields.Order(), translation.Error.Details.Select(d => d.Field).Order());
            return;
        }

        Assert.True(translation.Succeeded, translation.Error?.ToString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(vector.X402!), JsonNode.Parse(translation.Request)),
            $"expected {vector.X402}\nactual   {System.Text.Encoding.UTF8.GetString(translation.Request)}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Judge_TranslatedVector_LocalVerdictAgreesWithTheOfficialFacilitator(string name)
    {
        var vector = SeedVectors.All.Single(c => c.Name == name);
        if (vector.Code is not null)
        {
            return;
        }

        var request = SeedPaymentTranslator.Translate(vector.Body).Request!;
        var verifier = EnforcingVerifier(SeedVectors.Now);

        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(request, out var view));
        var verdict = verifier.Judge(request, view);

        if (vector.Local == "valid")
        {
            Assert.Equal(LocalVerdict.Valid, verdict);
            Assert.Equal("valid", vector.Official);
            return;
        }

        var check = Enum.Parse<LocalCheck>(vector.Check!);
        Assert.Equal(LocalVerdict.Invalid(check), verdict);
        Assert.True(verifier.AnswersLocally(verdict));
        Assert.Equal(vector.Official, verdict.Reason(2));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Translate_ValidVector_DigestIsViemsAndRecordFieldsAreTheSigned(string name)
    {
        var vector = SeedVectors.All.Single(c => c.Name == name);
        if (vector.Local != "valid")
        {
            return;
        }

        var translation = SeedPaymentTranslator.Translate(vector.Body);
        PaymentRequestReader.TryRead(translation.Request, out var view);
        var digest = new byte[32];
        Assert.True(ExactEvmVerifier.TryComputeDigest(translation.Request, view, digest));
        Assert.Equal(vector.Digest, "0x" + Convert.ToHexStringLower(digest));

        var payment = translation.Payment!;
        var x402 = JsonNode.Parse(vector.X402!)!;
        Assert.Equal(vector.Signer, payment.Payer);
        Assert.Equal((string)x402["paymentRequirements"]!["payTo"]!, payment.Payee);
        Assert.Equal((string)x402["paymentRequirements"]!["amount"]!, payment.AtomicAmount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal((string)x402["paymentRequirements"]!["network"]!, payment.Network);
        Assert.Equal((string)x402["paymentRequirements"]!["asset"]!, payment.Asset.Address);
        Assert.Equal(payment.AtomicAmount, TokenAmountOf(payment.Amount, payment.Asset.Decimals));
        Assert.True(payment.AtomicAmount >= payment.RequiredAtomicAmount);
    }

    [Theory]
    [InlineData(LocalCheck.Signature, "INVALID_SIGNATURE", 400)]
    [InlineData(LocalCheck.ValidBefore, "EXPIRED_PROOF", 410)]
    [InlineData(LocalCheck.ValidAfter, "INVALID_PROOF", 400)]
    [InlineData(LocalCheck.Recipient, "REQUIREMENTS_NOT_MET", 422)]
    [InlineData(LocalCheck.Value, "INSUFFICIENT_AMOUNT", 402)]
    public void ForLocalCheck_FailedCheck_SeedCodeAndStatus(LocalCheck check, string code, int status)
    {
        var error = PaymentProblem.ForLocalCheck(check);

        Assert.Equal(code, error.Code);
        Assert.Equal(status, error.Status);
    }

    internal static LocalVerifier EnforcingVerifier(long now)
    {
        var time = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(now));
        return new LocalVerifier(new LocalVerificationOptions { Mode = LocalVerificationMode.Enforce }, time, NullLogger<LocalVerifier>.Instance);
    }

    private static System.Numerics.BigInteger TokenAmountOf(string amount, int decimals) =>
        TokenAmount.TryParse(amount, decimals, out var atomic) ? atomic : -1;
}
