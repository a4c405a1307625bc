using System.Text;
using System.Text.RegularExpressions;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>What the ledger keys a settle by: binary fields, one size, one key per on-chain authorization.</summary>
public sealed partial class SettlementIdentityTests
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    internal static SettlementIdentity IdentityOf(string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(bytes, out var view));
        new ExactEvmVerifier(new LocalVerificationOptions(), TimeProvider.System).Verify(bytes, view, out var facts);
        Assert.True(SettlementIdentity.TryCreate(bytes, view, facts, out var identity));
        return identity;
    }

    private static string Signed(int x402Version, string value = "10000", string amount = "10000", int nonceSeed = 1) =>
        PaymentSigner.Request(PaymentSigner.CreatePayer(41), x402Version, Now - 600, Now + 600, value, amount, nonceSeed);

    [Fact]
    public void TryCreate_V1NameAndV2Caip2OfOneAuthorization_OneKeyAndFingerprint()
    {
        var v1 = IdentityOf(Signed(1));
        var v2 = IdentityOf(Signed(2));

        Assert.True(v1.Verified);
        Assert.Equal(v1.Key, v2.Key);
        Assert.Equal(v1.Fingerprint, v2.Fingerprint);
    }

    [Fact]
    public void TryCreate_NonceAndSignatureInUpperCase_SameKeyAndFingerprint()
    {
        // Hex the official verifier reads in either case: the same verified authorization.
        var payment = Signed(2);
        var upper = Signature().Replace(
            NonceField().Replace(payment, m => "\"nonce\":\"0x" + m.Value[11..].ToUpperInvariant()),
            m => "\"signature\":\"0x" + m.Value[15..].ToUpperInvariant());

        Assert.NotEqual(payment, upper);
        Assert.True(IdentityOf(upper).Verified);
        Assert.Equal(IdentityOf(payment).Key, IdentityOf(upper).Key);
        Assert.Equal(IdentityOf(payment).Fingerprint, IdentityOf(upper).Fingerprint);
    }

    [Theory]
    [InlineData("payer-upper-case")]
    [InlineData("payer-0X")]
    [InlineData("payer-wrong-checksum")]
    [InlineData("nonce-0X")]
    [InlineData("nonce-without-0x")]
    [InlineData("signature-without-0x")]
    public void TryCreate_HexTheOfficialVerifierRefuses_SameFingerprintButNeverTheVerifiedKey(string form)
    {
        // The same authorization in text the references read differently (viem refuses it, others decode it): it may
        // learn the verified settlement's outcome through its NonceKey, but it never holds the payer's nonce itself.
        var payment = Signed(2);
        var payer = PaymentSigner.CreatePayer(41).Address;
        var copy = form switch
        {
            "payer-upper-case" => payment.Replace(payer, "0x" + payer[2..].ToUpperInvariant(), StringComparison.Ordinal),
            "payer-0X" => payment.Replace(payer, "0X" + payer[2..], StringComparison.Ordinal),
            "payer-wrong-checksum" => payment.Replace(payer, "0x" + SwapFirstLetterCase(payer[2..]), StringComparison.Ordinal),
            "nonce-0X" => NonceField().Replace(payment, m => "\"nonce\":\"0X" + m.Value[11..]),
            "nonce-without-0x" => NonceField().Replace(payment, m => "\"nonce\":\"" + m.Value[11..]),
            _ => Signature().Replace(payment, m => "\"signature\":\"" + m.Value[15..]),
        };
        var verified = IdentityOf(payment);

        var identity = IdentityOf(copy);

        Assert.NotEqual(payment, copy);
        Assert.Equal(SettlementKeyKind.Unverified, identity.Kind);
        Assert.False(identity.Verified);
        Assert.NotEqual(verified.Key, identity.Key);
        Assert.Equal(verified.Fingerprint, identity.Fingerprint);
        Assert.Equal(verified.Key, identity.NonceKey);
    }

    private static string SwapFirstLetterCase(string digits)
    {
        var at = digits.IndexOfAny("abcdefABCDEF".ToCharArray());
        var c = digits[at];
        return digits[..at] + (char.IsAsciiLetterLower(c) ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c)) + digits[(at + 1)..];
    }

    [Fact]
    public void TryCreate_SameNonceSignedForAnotherValue_SameKeyOtherFingerprint()
    {
        var small = IdentityOf(Signed(2, "10000", "10000"));
        var large = IdentityOf(Signed(2, "50000000", "50000000"));

        Assert.True(large.Verified);
        Assert.Equal(small.Key, large.Key);
        Assert.NotEqual(small.Fingerprint, large.Fingerprint);
    }

    [Fact]
    public void TryCreate_SameAuthorizationForAnotherPrice_OtherFingerprint() =>
        Assert.NotEqual(IdentityOf(Signed(2, "10000", "10000")).Fingerprint, IdentityOf(Signed(2, "10000", "5000")).Fingerprint);

    [Fact]
    public void TryCreate_SignatureThatCannotBeChecked_OwnKeyAndTheVerifiedKeyToConsult()
    {
        var verified = IdentityOf(Signed(2));
        var forged = IdentityOf(Signature().Replace(Signed(2), m => m.Value[..^3] + "\""));

        Assert.False(forged.Verified);
        Assert.NotEqual(verified.Key, forged.Key);
        Assert.NotEqual(verified.Fingerprint, forged.Fingerprint);
        Assert.Equal(verified.Key, forged.NonceKey);
    }

    [Fact]
    public void TryCreate_ThirtyKilobytePayer_KeyedByItsPayloadWithoutTheField()
    {
        var payment = Signed(2).Replace(PaymentSigner.CreatePayer(41).Address, "0x" + new string('a', 30_000), StringComparison.Ordinal);

        var identity = IdentityOf(payment);

        Assert.Equal(SettlementKeyKind.Payload, identity.Kind);
        Assert.False(identity.Verified);
        Assert.Null(identity.NonceKey);
        Assert.Equal(0UL, identity.ValidBeforeSeconds);
        Assert.NotEqual(identity.Key, IdentityOf(payment.Replace("\"value\":\"10000\"", "\"value\":\"10001\"", StringComparison.Ordinal)).Key);

        // The same payload for another price: the same key, another fingerprint.
        var dearer = IdentityOf(payment.Replace("\"amount\":\"10000\",\"asset\"", "\"amount\":\"50000000\",\"asset\"", StringComparison.Ordinal)
            .Replace("\"paymentRequirements\":{\"scheme\":\"exact\",\"network\":\"eip155:84532\",\"amount\":\"10000\"", "\"paymentRequirements\":{\"scheme\":\"exact\",\"network\":\"eip155:84532\",\"amount\":\"50000000\"", StringComparison.Ordinal));
        Assert.Equal(identity.Key, IdentityOf(payment).Key);
        Assert.NotEqual(identity.Fingerprint, dearer.Fingerprint);
    }

    [GeneratedRegex("\"nonce\":\"0x[0-9a-f]{64}\"")]
    private static partial Regex NonceField();

    [GeneratedRegex("\"signature\":\"0x[0-9a-f]{130}\"")]
    private static partial Regex Signature();
}
