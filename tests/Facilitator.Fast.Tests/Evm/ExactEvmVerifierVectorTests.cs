using System.Text;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Evm;

/// <summary>
/// Every committed vector through the verifier, at the vector's own "now" with no clock tolerance, so the boundaries
/// are the official ones. The expected verdict follows the enforcement rule: reject only what every reference
/// facilitator rejects (<see cref="ExpectedVerdict"/> says where that differs from the official TypeScript label).
/// </summary>
public sealed class ExactEvmVerifierVectorTests
{
    public static TheoryData<string> Names => new(PaymentVectors.All.Select(c => c.Name));

    [Fact]
    public void Vectors_AtLeast500CasesOfBothVersions()
    {
        Assert.True(PaymentVectors.All.Count >= 500);
        Assert.Contains(PaymentVectors.All, c => c.Version == 1 && c.Local == "invalid");
        Assert.Contains(PaymentVectors.All, c => c.Version == 2 && c.Local == "invalid");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Verify_Vector_ExpectedVerdictAndOfficialReason(string name)
    {
        var vector = PaymentVectors.All.Single(c => c.Name == name);
        var verifier = Verifier(vector.Now);

        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(vector.Body, out var view));
        var verdict = verifier.Verify(vector.Body, view);

        var expected = ExpectedVerdict(vector);
        Assert.Equal(expected, verdict);
        if (verdict.Kind == LocalVerdictKind.Valid)
        {
            // Never accept what the official facilitator refuses.
            Assert.Equal("valid", vector.Official ?? vector.Local);
        }

        if (verdict.Kind == LocalVerdictKind.Invalid)
        {
            // Never reject what the official facilitator accepts: it refused, or failed on, the same payment.
            Assert.Equal("invalid", vector.Local);
            Assert.NotEqual("valid", vector.Official);
            var official = vector.Version == 2 ? vector.Reason : vector.LegacyReason;
            if (official is not null)
            {
                Assert.Equal(official, verdict.Reason(vector.Version));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Digest_SignedVector_MatchesViem(string name)
    {
        var vector = PaymentVectors.All.Single(c => c.Name == name);
        if (vector.Digest is null || vector.Local != "valid" || vector.Kind == "valid-hex-authorization-numbers")
        {
            return;
        }

        PaymentRequestReader.TryRead(vector.Body, out var view);
        var digest = new byte[32];
        Assert.True(ExactEvmVerifier.TryComputeDigest(vector.Body, view, digest));
        Assert.Equal(vector.Digest, "0x" + Convert.ToHexStringLower(digest));
    }

    [Fact]
    public void Digest_SpecExample_IsThePublishedDigest()
    {
        var spec = PaymentVectors.All.First(c => c.Kind == "spec-example");
        PaymentRequestReader.TryRead(spec.Body, out var view);
        var digest = new byte[32];

        Assert.True(ExactEvmVerifier.TryComputeDigest(spec.Body, view, digest));
        Assert.Equal("0xf256992871671abcb27ff92885a7afa46218724e5fc0bac35d050115aa1d22e6", "0x" + Convert.ToHexStringLower(digest));
        Assert.Equal("0x857b06519E91e3A54538791bDbb0E22373e36b66".ToLowerInvariant(), spec.Signer.ToLowerInvariant());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Verify_Vector_SignatureVerifiedOnlyWhenEveryFieldIsCanonical(string name)
    {
        var vector = PaymentVectors.All.Single(c => c.Name == name);
        var verifier = Verifier(vector.Now);
        PaymentRequestReader.TryRead(vector.Body, out var view);

        var verdict = verifier.Verify(vector.Body, view, out var facts);

        // The settlement ledger lets only a verified signature hold the payer's nonce: a copy the upstreams judge
        // differently (unjudged for its hex) must not, even though its signature recovers.
        if (verdict.Cause == UnjudgedCause.NonCanonicalHex)
        {
            Assert.False(facts.SignatureVerified);
            Assert.True(facts.Decoded);
        }

        if (verdict.Kind == LocalVerdictKind.Valid)
        {
            Assert.True(facts.SignatureVerified);
        }
    }

    [Theory]
    [InlineData("valid", 2, LocalVerdictKind.Valid)]
    [InlineData("valid", 1, LocalVerdictKind.Valid)]
    [InlineData("wrong-key", 1, LocalVerdictKind.Invalid)]
    [InlineData("recipient-mismatch", 2, LocalVerdictKind.Invalid)]
    [InlineData("from-wrong-checksum", 2, LocalVerdictKind.Unjudged)]
    [InlineData("nonce-non-hex", 2, LocalVerdictKind.Invalid)]
    public void Verify_JudgedPayment_AllocatesNothing(string kind, int version, LocalVerdictKind expected)
    {
        var vector = PaymentVectors.All.First(c => c.Kind == kind && c.Version == version);
        var verifier = Verifier(vector.Now);
        PaymentRequestReader.TryRead(vector.Body, out var view);
        Assert.Equal(expected, verifier.Verify(vector.Body, view).Kind);

        Allocations.AssertNone(() => verifier.Verify(vector.Body, view));
    }

    /// <summary>
    /// Body edges the official verifier reads through <c>JSON.parse</c> as the same payment: a version written <c>2.0</c>
    /// or <c>2e0</c> (in the request and its payload), a UTF-8 byte-order mark, nesting past 64 levels in a field the
    /// gateway does not read. Every valid vector keeps its verdict.
    /// </summary>
    [Theory]
    [InlineData("version-decimal")]
    [InlineData("version-exponent")]
    [InlineData("byte-order-mark")]
    [InlineData("deep-unread-field")]
    public void Verify_ValidVectorWithBodyEdge_StillValid(string edge)
    {
        var deep = new string('[', 100) + new string(']', 100);
        foreach (var vector in PaymentVectors.All.Where(static c => c.Kind == "valid"))
        {
            var text = Encoding.UTF8.GetString(vector.Body);
            var version = $"\"x402Version\":{vector.Version},";
            byte[] body = edge switch
            {
                "version-decimal" => Encoding.UTF8.GetBytes(text.Replace(version, $"\"x402Version\":{vector.Version}.0,", StringComparison.Ordinal)),
                "version-exponent" => Encoding.UTF8.GetBytes(text.Replace(version, $"\"x402Version\":{vector.Version}e0,", StringComparison.Ordinal)),
                "byte-order-mark" => [0xEF, 0xBB, 0xBF, .. vector.Body],
                _ => Encoding.UTF8.GetBytes(text.Replace("\"paymentPayload\":{", "\"paymentPayload\":{\"memo\":" + deep + ",", StringComparison.Ordinal)),
            };
            Assert.NotEqual(vector.Body, body);

            Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(body, out var view));
            Assert.Equal(vector.Version, view.Version);
            Assert.Equal(LocalVerdict.Valid, Verifier(vector.Now).Verify(body, view));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadAndVerify_ValidVector_AllocatesNothing(bool byteOrderMark)
    {
        // The whole local check of a request: one pass of the reader, then the verdict (a byte-order mark costs nothing).
        var vector = PaymentVectors.All.First(c => c.Kind == "valid" && c.Version == 2);
        byte[] body = byteOrderMark ? [0xEF, 0xBB, 0xBF, .. vector.Body] : vector.Body;
        var verifier = Verifier(vector.Now);

        Allocations.AssertNone(() =>
        {
            PaymentRequestReader.TryRead(body, out var view);
            verifier.Verify(body, view);
        });
    }

    /// <summary>The verdict the enforcement rule gives each kind of vector.</summary>
    private static LocalVerdict ExpectedVerdict(PaymentVectors.Case vector)
    {
        var v2 = vector.Version == 2;
        return vector.Kind switch
        {
            "valid" or "spec-example" or "valid-v-0-1" or "valid-lowercase-addresses" or "valid-valid-after-equals-now"
                or "valid-valid-before-now-plus-6" or "signature-uppercase-hex"
                // Hex the official verifier reads too: any case in a nonce, payTo and asset.
                or "nonce-uppercase-hex" or "pay-to-uppercase-hex" or "pay-to-wrong-checksum" or "asset-uppercase-hex"
                or "asset-wrong-checksum" => LocalVerdict.Valid,

            // Hex the official verifier refuses and others read (0X, no 0x, upper case or a wrong checksum in from/to): the
            // references disagree, so the upstream decides.
            "signature-0X-prefix" or "signature-without-0x-prefix" or "from-0X-prefix" or "from-uppercase-hex"
                or "from-wrong-checksum" or "from-without-0x-prefix" or "to-0X-prefix" or "to-uppercase-hex"
                or "to-wrong-checksum" or "nonce-0X-prefix" or "nonce-without-0x-prefix" or "pay-to-0X-prefix"
                or "asset-0X-prefix" => LocalVerdict.Unjudged(UnjudgedCause.NonCanonicalHex),
            "valid-hex-authorization-numbers" => LocalVerdict.Unjudged(UnjudgedCause.MalformedAuthorization),
            "wrong-key" or "flipped-r-byte" or "edited-nonce-after-signing" or "edited-value-after-signing"
                or "signed-for-other-chain" or "signed-for-other-asset" or "signed-with-other-domain-name"
                or "signed-with-other-domain-version" or "signature-non-hex" or "signature-zero-r-s"

                // Refused by every reference whatever the text: a signature that does not recover, or none at all.
                or "from-uppercase-hex-wrong-key" or "signature-missing" or "signature-null"
                or "signature-number" => LocalVerdict.Invalid(LocalCheck.Signature),
            "nonce-non-hex" or "nonce-31-bytes" or "nonce-33-bytes" or "nonce-odd-length" or "nonce-empty" or "nonce-number"
                or "nonce-null" or "nonce-missing" => LocalVerdict.Invalid(LocalCheck.MalformedNonce),
            "flipped-s-byte" => HasHighS(vector) ? LocalVerdict.Unjudged(UnjudgedCause.SignatureNotCanonical) : LocalVerdict.Invalid(LocalCheck.Signature),
            "high-s" => LocalVerdict.Unjudged(UnjudgedCause.SignatureNotCanonical),
            "signature-bad-v" => SignatureV(vector) >= 35 ? LocalVerdict.Unjudged(UnjudgedCause.SignatureNotCanonical) : LocalVerdict.Invalid(LocalCheck.Signature),
            "signature-64-bytes" or "signature-32-bytes" or "signature-empty" or "signature-erc6492-wrapped"
                or "signature-longer-than-65-bytes" => LocalVerdict.Unjudged(UnjudgedCause.SignatureNotEcdsa),
            "recipient-mismatch" => LocalVerdict.Invalid(LocalCheck.Recipient),
            "value-below-required" => LocalVerdict.Invalid(LocalCheck.Value),
            "value-above-required" => LocalVerdict.Unjudged(UnjudgedCause.Overpayment),
            "valid-before-in-past" or "valid-before-equals-now" or "valid-before-within-6s" => LocalVerdict.Invalid(LocalCheck.ValidBefore),
            "valid-after-in-future" => LocalVerdict.Invalid(LocalCheck.ValidAfter),
            "network-mismatch" or "network-mismatch-unknown-payload-network" =>
                v2 ? LocalVerdict.Invalid(LocalCheck.NetworkMismatch) : LocalVerdict.Unjudged(UnjudgedCause.PayloadNetworkDiffers),
            "payload-scheme-not-exact" => LocalVerdict.Invalid(LocalCheck.Scheme),
            "missing-extra" or "missing-extra-name" or "missing-extra-version" =>
                v2 ? LocalVerdict.Invalid(LocalCheck.MissingEip712Domain) : LocalVerdict.Unjudged(UnjudgedCause.NoDomain),
            "requirements-scheme-not-exact" => LocalVerdict.Unjudged(UnjudgedCause.NotExactEvm),

            // A v1 name no table knows cannot be judged; a CAIP-2 eip155 id carries its chain id, so v2 is judged
            // (whether an upstream supports that chain is routing's question, not verification's).
            "unknown-network" => v2 ? LocalVerdict.Valid : LocalVerdict.Unjudged(UnjudgedCause.NotExactEvm),
            _ => throw new InvalidOperationException($"No expectation for vector kind '{vector.Kind}'."),
        };
    }

    private static string SignatureHex(PaymentVectors.Case vector)
    {
        PaymentRequestReader.TryRead(vector.Body, out var view);
        return view[PaymentField.Signature].ToString(vector.Body)!;
    }

    private static byte SignatureV(PaymentVectors.Case vector) => Convert.FromHexString(SignatureHex(vector)[2..])[64];

    private static bool HasHighS(PaymentVectors.Case vector)
    {
        var s = Convert.FromHexString(SignatureHex(vector)[2..]).AsSpan(32, 32);
        return s.SequenceCompareTo(Convert.FromHexString("7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0")) > 0;
    }

    internal static ExactEvmVerifier Verifier(long now)
    {
        var time = new ManualTimeProvider();
        time.Advance(DateTimeOffset.FromUnixTimeSeconds(now) - time.GetUtcNow());
        return new ExactEvmVerifier(new LocalVerificationOptions { ClockSkewSeconds = 0, ValidAfterSlackSeconds = 0 }, time);
    }
}
