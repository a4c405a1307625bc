using System.Text;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Evm;

/// <summary>The verifier with its production settings: clock tolerances, the EOA assumption, the domain cache, odd payloads.</summary>
public sealed class ExactEvmVerifierTests
{
    private static readonly PaymentSigner.Payer Payer = PaymentSigner.CreatePayer(41);

    private static (ExactEvmVerifier Verifier, long Now) Create(LocalVerificationOptions? options = null)
    {
        var time = new ManualTimeProvider();
        return (new ExactEvmVerifier(options ?? new LocalVerificationOptions(), time), time.GetUtcNow().ToUnixTimeSeconds());
    }

    private static LocalVerdict Judge(ExactEvmVerifier verifier, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(bytes, out var view));
        return verifier.Verify(bytes, view);
    }

    [Theory]
    [InlineData(3, LocalVerdictKind.Invalid)]
    [InlineData(4, LocalVerdictKind.Invalid)]
    [InlineData(5, LocalVerdictKind.Unjudged)]
    [InlineData(6, LocalVerdictKind.Valid)]
    public void Verify_DefaultClockSkew_ValidBeforeRejectedOnlyBelowNowPlus5(int secondsLeft, LocalVerdictKind expected)
    {
        var (verifier, now) = Create();

        var verdict = Judge(verifier, PaymentSigner.Request(Payer, 2, now - 600, now + secondsLeft));

        Assert.Equal(expected, verdict.Kind);
        if (expected == LocalVerdictKind.Unjudged)
        {
            Assert.Equal(UnjudgedCause.NearValidityBoundary, verdict.Cause);
        }
    }

    [Theory]
    [InlineData(1, LocalVerdictKind.Unjudged)]
    [InlineData(60, LocalVerdictKind.Unjudged)]
    [InlineData(61, LocalVerdictKind.Invalid)]
    public void Verify_DefaultSlack_ValidAfterRejectedOnlyBeyondSixtySeconds(int secondsAhead, LocalVerdictKind expected)
    {
        var (verifier, now) = Create();

        Assert.Equal(expected, Judge(verifier, PaymentSigner.Request(Payer, 1, now + secondsAhead, now + 600)).Kind);
    }

    [Fact]
    public void Verify_OneSlotDomainCacheAndTwoTokensAlternating_EveryPaymentValid()
    {
        var (verifier, now) = Create(new LocalVerificationOptions { DomainCacheSize = 1 });
        var usdc = PaymentSigner.Request(Payer, 2, now - 600, now + 600);
        var other = PaymentSigner.Request(Payer, 2, now - 600, now + 600, token: ("Test Token", "1", "0x1111111111111111111111111111111111111111"));

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(LocalVerdictKind.Valid, Judge(verifier, usdc).Kind);
            Assert.Equal(LocalVerdictKind.Valid, Judge(verifier, other).Kind);
        }
    }

    [Theory]
    [InlineData(true, LocalVerdictKind.Invalid)]
    [InlineData(false, LocalVerdictKind.Unjudged)]
    public void Verify_SignatureOfAnotherKey_RejectedOnlyWhenPayersAreAssumedEoas(bool assumeEoa, LocalVerdictKind expected)
    {
        var (verifier, now) = Create(new LocalVerificationOptions { AssumeEoaPayers = assumeEoa });
        var body = PaymentSigner.Request(Payer, 2, now - 600, now + 600);
        var impostor = body.Replace(Payer.Address, PaymentSigner.CreatePayer(42).Address, StringComparison.Ordinal);

        var verdict = Judge(verifier, impostor);

        Assert.Equal(expected, verdict.Kind);
        Assert.Equal(assumeEoa ? UnjudgedCause.None : UnjudgedCause.SignerMayBeContract, verdict.Cause);
    }

    [Theory]
    [InlineData("1f", true, LocalVerdictKind.Invalid)]
    [InlineData("20", false, LocalVerdictKind.Unjudged)]
    [InlineData("02", false, LocalVerdictKind.Unjudged)]
    public void Verify_SafeStyleV_RejectedOnlyWhenPayersAreAssumedEoas(string v, bool assumeEoa, LocalVerdictKind expected)
    {
        var (verifier, now) = Create(new LocalVerificationOptions { AssumeEoaPayers = assumeEoa });
        var body = PaymentSigner.Request(Payer, 1, now - 600, now + 600);
        var signatureEnd = body.IndexOf("\",\"authorization\"", StringComparison.Ordinal);

        Assert.Equal(expected, Judge(verifier, body[..(signatureEnd - 2)] + v + body[signatureEnd..]).Kind);
    }

    [Fact]
    public void Verify_Permit2PayloadWithoutDomain_ForwardedUnjudged()
    {
        var (verifier, _) = Create();
        const string Body = """
            {"x402Version":2,"paymentPayload":{"x402Version":2,"accepted":{"scheme":"exact","network":"eip155:38833","amount":"1","asset":"0x1111111111111111111111111111111111111111","payTo":"0x2222222222222222222222222222222222222222","maxTimeoutSeconds":60,"extra":{"assetTransferMethod":"permit2"}},
             "payload":{"signature":"0x00","permit2Authorization":{"from":"0x3333333333333333333333333333333333333333"}}},
             "paymentRequirements":{"scheme":"exact","network":"eip155:38833","amount":"1","asset":"0x1111111111111111111111111111111111111111","payTo":"0x2222222222222222222222222222222222222222","maxTimeoutSeconds":60,"extra":{"assetTransferMethod":"permit2"}}}
            """;

        var verdict = Judge(verifier, Body);

        Assert.Equal(LocalVerdict.Unjudged(UnjudgedCause.NotEip3009), verdict);
    }

    [Fact]
    public void Verify_BothAuthorizationAndPermit2_ForwardedUnjudged()
    {
        var (verifier, now) = Create();
        var body = PaymentSigner.Request(Payer, 2, now - 600, now + 600)
            .Replace("\"authorization\":", "\"permit2Authorization\":{},\"authorization\":", StringComparison.Ordinal);

        Assert.Equal(UnjudgedCause.NotEip3009, Judge(verifier, body).Cause);
    }

    [Fact]
    public void Verify_LoneSurrogateEscapedInDomainName_ForwardedNotThrown()
    {
        var (verifier, now) = Create();
        var body = PaymentSigner.Request(Payer, 2, now - 600, now + 600).Replace("\"name\":\"USDC\"", "\"name\":\"US\\ud800DC\"", StringComparison.Ordinal);

        Assert.Equal(LocalVerdictKind.Unjudged, Judge(verifier, body).Kind);
    }
}
