using System.Text;
using System.Text.Json.Nodes;
using Facilitator.Fast.Payments;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>
/// The translator's refusals, code by code and field by field, on edits of one viem-signed seed body: each problem is
/// answered with the seed's code and status and a detail naming the field, and every shape problem at once.
/// </summary>
public sealed class SeedPaymentTranslatorTests
{
    private const string OtherAddress = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";

    /// <summary>Edits that make the shape wrong, and the one field each is reported on.</summary>
    private static readonly Dictionary<string, (Action<JsonObject> Edit, string Field)> ShapeEdits = new()
    {
        ["proof-missing"] = (r => r.Remove("proof"), "proof"),
        ["requirements-missing"] = (r => r.Remove("requirements"), "requirements"),
        ["proof-array"] = (r => r["proof"] = new JsonArray(), "proof"),
        ["payload-string"] = (r => SeedBodies.Proof(r)["payload"] = "x", "proof.payload"),
        ["amount-number"] = (r => SeedBodies.Payload(r)["amount"] = 1, "proof.payload.amount"),
        ["required-amount-number"] = (r => SeedBodies.Requirements(r)["amount"] = 1.5, "requirements.amount"),
        ["deadline-string"] = (r => SeedBodies.Payload(r)["deadline"] = "1767225900", "proof.payload.deadline"),
        ["deadline-fraction"] = (r => SeedBodies.Payload(r)["deadline"] = 1767225900.5, "proof.payload.deadline"),
        ["deadline-negative"] = (r => SeedBodies.Payload(r)["deadline"] = -1, "proof.payload.deadline"),
        ["deadline-beyond-safe-integer"] = (r => SeedBodies.Payload(r)["deadline"] = 9007199254740992, "proof.payload.deadline"),
        ["deadline-null"] = (r => SeedBodies.Payload(r)["deadline"] = null, "proof.payload.deadline"),
        ["valid-after-null"] = (r => SeedBodies.Payload(r)["validAfter"] = null, "proof.payload.validAfter"),
        ["valid-after-string"] = (r => SeedBodies.Payload(r)["validAfter"] = "0", "proof.payload.validAfter"),
        ["max-age-string"] = (r => SeedBodies.Requirements(r)["maxAge"] = "60", "requirements.maxAge"),
        ["max-age-zero"] = (r => SeedBodies.Requirements(r)["maxAge"] = 0, "requirements.maxAge"),
        ["description-number"] = (r => SeedBodies.Requirements(r)["description"] = 7, "requirements.description"),
        ["resource-null"] = (r => SeedBodies.Requirements(r)["resource"] = null, "requirements.resource"),
        ["scheme-unknown"] = (r => SeedBodies.Proof(r)["scheme"] = "bogus", "proof.scheme"),
        ["required-scheme-unknown"] = (r => SeedBodies.Requirements(r)["scheme"] = "EXACT", "requirements.scheme"),
        ["from-short"] = (r => SeedBodies.Payload(r)["from"] = "0x1234", "proof.payload.from"),
        ["to-not-hex"] = (r => SeedBodies.Payload(r)["to"] = "0x" + new string('z', 40), "proof.payload.to"),
        ["pay-to-without-0x"] = (r => SeedBodies.Requirements(r)["payTo"] = OtherAddress[2..], "requirements.payTo"),
        ["from-bad-checksum"] = (r => SeedBodies.Payload(r)["from"] = BreakChecksum((string)SeedBodies.Payload(r)["from"]!), "proof.payload.from"),
        ["nonce-31-bytes"] = (r => SeedBodies.Payload(r)["nonce"] = "0x" + new string('a', 62), "proof.payload.nonce"),
        ["nonce-33-bytes"] = (r => SeedBodies.Payload(r)["nonce"] = "0x" + new string('a', 66), "proof.payload.nonce"),
        ["nonce-without-0x"] = (r => SeedBodies.Payload(r)["nonce"] = new string('a', 64), "proof.payload.nonce"),
        ["nonce-not-hex"] = (r => SeedBodies.Payload(r)["nonce"] = "0x" + new string('g', 64), "proof.payload.nonce"),
        ["signature-64-bytes"] = (r => SeedBodies.Proof(r)["signature"] = "0x" + new string('1', 128), "proof.signature"),
        ["signature-66-bytes"] = (r => SeedBodies.Proof(r)["signature"] = "0x" + new string('1', 132), "proof.signature"),
        ["signature-without-0x"] = (r => SeedBodies.Proof(r)["signature"] = new string('1', 130), "proof.signature"),
        ["signature-not-hex"] = (r => SeedBodies.Proof(r)["signature"] = "0x" + new string('x', 130), "proof.signature"),
        ["signature-empty"] = (r => SeedBodies.Proof(r)["signature"] = "", "proof.signature"),
        ["amount-negative"] = (r => SeedBodies.Payload(r)["amount"] = "-1", "proof.payload.amount"),
        ["amount-exponent"] = (r => SeedBodies.Payload(r)["amount"] = "1e6", "proof.payload.amount"),
        ["amount-empty"] = (r => SeedBodies.Payload(r)["amount"] = "", "proof.payload.amount"),
        ["amount-leading-dot"] = (r => SeedBodies.Payload(r)["amount"] = ".5", "proof.payload.amount"),
        ["amount-trailing-dot"] = (r => SeedBodies.Payload(r)["amount"] = "1.", "proof.payload.amount"),
        ["amount-two-dots"] = (r => SeedBodies.Payload(r)["amount"] = "1.2.3", "proof.payload.amount"),
        ["amount-space"] = (r => SeedBodies.Payload(r)["amount"] = " 1", "proof.payload.amount"),
        ["amount-plus"] = (r => SeedBodies.Payload(r)["amount"] = "+1", "proof.payload.amount"),
        ["amount-comma"] = (r => SeedBodies.Payload(r)["amount"] = "1,5", "proof.payload.amount"),
        ["amount-finer-than-token"] = (r => SeedBodies.Payload(r)["amount"] = "1.0000001", "proof.payload.amount"),
        ["required-amount-finer-than-token"] = (r => SeedBodies.Requirements(r)["amount"] = "0.0000001", "requirements.amount"),
        ["amount-beyond-uint256"] = (r => SeedBodies.Payload(r)["amount"] = "1" + new string('0', 80), "proof.payload.amount"),
        ["valid-before-differs"] = (r => SeedBodies.Payload(r)["validBefore"] = 1767225901, "proof.payload.validBefore"),
        ["valid-after-after-deadline"] = (r => SeedBodies.Payload(r)["validAfter"] = 1767225901, "proof.payload.validAfter"),
        ["valid-after-equals-deadline"] = (r => SeedBodies.Payload(r)["validAfter"] = 1767225900, "proof.payload.validAfter"),
    };

    private static readonly string[] RequiredPaths =
    [
        "proof.scheme", "proof.network", "proof.signature", "proof.payload", "proof.payload.amount", "proof.payload.asset",
        "proof.payload.from", "proof.payload.to", "proof.payload.nonce", "proof.payload.deadline",
        "requirements.scheme", "requirements.network", "requirements.amount", "requirements.asset", "requirements.payTo",
    ];

    public static TheoryData<string> ShapeEditNames => new(ShapeEdits.Keys);

    public static TheoryData<string> RequiredFieldPaths => new(RequiredPaths);

    [Fact]
    public void Translate_ValidVectorBody_Succeeds()
    {
        Assert.True(SeedPaymentTranslator.Translate(SeedBodies.Valid.Body).Succeeded);
    }

    [Theory]
    [MemberData(nameof(ShapeEditNames))]
    public void Translate_MalformedField_ValidationErrorNamingTheField(string edit)
    {
        var (change, field) = ShapeEdits[edit];

        var error = Refusal(SeedBodies.Edited(change));

        Assert.Equal("VALIDATION_ERROR", error.Code);
        Assert.Equal(400, error.Status);
        Assert.Equal([field], error.Details.Select(d => d.Field));
    }

    [Theory]
    [MemberData(nameof(RequiredFieldPaths))]
    public void Translate_RequiredFieldMissing_ValidationErrorSaysRequired(string path)
    {
        var error = Refusal(SeedBodies.Edited(root =>
        {
            var (parent, name) = SeedBodies.At(root, path);
            parent.Remove(name);
        }));

        Assert.Equal("VALIDATION_ERROR", error.Code);
        var detail = Assert.Single(error.Details);
        Assert.Equal((path, "is required"), (detail.Field, detail.Message));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("[]")]
    [InlineData("\"proof\"")]
    [InlineData("1")]
    [InlineData("null")]
    [InlineData("{")]
    [InlineData("{\"proof\":{}}}")]
    [InlineData("{} {}")]
    [InlineData("{'proof':{}}")]
    public void Translate_NotAJsonObject_ValidationErrorOnTheBody(string body)
    {
        var error = Refusal(Encoding.UTF8.GetBytes(body));

        Assert.Equal("VALIDATION_ERROR", error.Code);
        Assert.Equal("body", Assert.Single(error.Details).Field);
    }

    [Fact]
    public void Translate_InvalidUtf8_ValidationErrorOnTheBody()
    {
        byte[] body = [.. "{\"proof\":\""u8, 0xC3, 0x28, .. "\"}"u8];

        Assert.Equal("body", Assert.Single(Refusal(body).Details).Field);
    }

    [Fact]
    public void Translate_EmptyObject_BothPartsRequired()
    {
        var error = Refusal("{}"u8.ToArray());

        Assert.Equal(["proof", "requirements"], error.Details.Select(d => d.Field).Order());
    }

    [Fact]
    public void Translate_NumberWithExponent_ValidationError()
    {
        var body = SeedBodies.Text.Replace("\"deadline\":1767225900", "\"deadline\":1.7672259E9", StringComparison.Ordinal);

        Assert.Equal("proof.payload.deadline", Assert.Single(Refusal(Encoding.UTF8.GetBytes(body)).Details).Field);
    }

    [Fact]
    public void Translate_FieldGivenTwice_ValidationError()
    {
        var text = SeedBodies.Text;
        var at = text.IndexOf("\"amount\":\"1.00\",", StringComparison.Ordinal);
        var body = text.Insert(at, "\"amount\":\"9.00\",");

        var detail = Assert.Single(Refusal(Encoding.UTF8.GetBytes(body)).Details);
        Assert.Equal(("proof.payload.amount", "appears more than once"), (detail.Field, detail.Message));
    }

    [Fact]
    public void Translate_EscapedLoneSurrogate_ValidationErrorOnTheField()
    {
        var body = SeedBodies.Text.Replace("\"Premium data\"", "\"\\ud800\"", StringComparison.Ordinal);

        Assert.Equal("requirements.description", Assert.Single(Refusal(Encoding.UTF8.GetBytes(body)).Details).Field);
    }

    [Fact]
    public void Translate_SeveralProblems_AllReportedAtOnce()
    {
        var error = Refusal(SeedBodies.Edited(r =>
        {
            SeedBodies.Proof(r)["signature"] = "0x00";
            SeedBodies.Payload(r)["nonce"] = "1";
            SeedBodies.Payload(r).Remove("from");
            SeedBodies.Requirements(r)["scheme"] = "upto";
        }));

        Assert.Equal("VALIDATION_ERROR", error.Code);
        Assert.Equal(["proof.payload.from", "proof.payload.nonce", "proof.signature"], error.Details.Select(d => d.Field).Order());
    }

    [Theory]
    [InlineData("proof.scheme", "upto")]
    [InlineData("proof.scheme", "stream")]
    [InlineData("requirements.scheme", "upto")]
    [InlineData("requirements.scheme", "stream")]
    public void Translate_SchemeOtherThanExact_NotImplemented(string path, string scheme)
    {
        var error = Refusal(SeedBodies.Edited(root =>
        {
            var (parent, name) = SeedBodies.At(root, path);
            parent[name] = scheme;
        }));

        Assert.Equal(("NOT_IMPLEMENTED", 501), (error.Code, error.Status));
        Assert.Equal(path, Assert.Single(error.Details).Field);
    }

    [Theory]
    [InlineData("eip155:999999")]
    [InlineData("eip155:084532")]
    [InlineData("base-sepolia")]
    [InlineData("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp")]
    [InlineData("")]
    public void Translate_NetworkNotInTheTable_UnsupportedNetwork(string network)
    {
        var error = Refusal(SeedBodies.Edited(r =>
        {
            SeedBodies.Proof(r)["network"] = network;
            SeedBodies.Requirements(r)["network"] = network;
        }));

        Assert.Equal(("UNSUPPORTED_NETWORK", 501), (error.Code, error.Status));
        Assert.Equal("requirements.network", Assert.Single(error.Details).Field);
    }

    [Fact]
    public void Translate_V1NetworkName_SuggestsTheCaip2Id()
    {
        var error = Refusal(SeedBodies.Edited(r => SeedBodies.Requirements(r)["network"] = "base-sepolia"));

        Assert.Contains("'eip155:84532'", Assert.Single(error.Details).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0x0000000000000000000000000000000000000001")]
    [InlineData("DAI")]
    [InlineData("")]
    public void Translate_RequiredAssetUnknownOnTheNetwork_UnsupportedNetwork(string asset)
    {
        var error = Refusal(SeedBodies.Edited(r => SeedBodies.Requirements(r)["asset"] = asset));

        Assert.Equal(("UNSUPPORTED_NETWORK", 501), (error.Code, error.Status));
        Assert.Equal("requirements.asset", Assert.Single(error.Details).Field);
    }

    [Theory]
    [InlineData("proof.network", "eip155:8453", "proof.network")]
    [InlineData("proof.network", "eip155:999999", "proof.network")]
    [InlineData("proof.payload.asset", "0x0000000000000000000000000000000000000001", "proof.payload.asset")]
    [InlineData("proof.payload.asset", "USDT", "proof.payload.asset")]
    [InlineData("proof.payload.to", OtherAddress, "proof.payload.to")]
    [InlineData("requirements.payTo", OtherAddress, "proof.payload.to")]
    public void Translate_ProofDiffersFromRequirements_RequirementsNotMet(string path, string value, string field)
    {
        var error = Refusal(SeedBodies.Edited(root =>
        {
            var (parent, name) = SeedBodies.At(root, path);
            parent[name] = value;
        }));

        Assert.Equal(("REQUIREMENTS_NOT_MET", 422), (error.Code, error.Status));
        Assert.Equal(field, Assert.Single(error.Details).Field);
    }

    [Fact]
    public void Translate_EveryRequirementUnmet_EachOneReported()
    {
        var error = Refusal(SeedBodies.Edited(r =>
        {
            SeedBodies.Proof(r)["network"] = "eip155:8453";
            SeedBodies.Payload(r)["asset"] = "0x0000000000000000000000000000000000000001";
            SeedBodies.Requirements(r)["payTo"] = OtherAddress;
        }));

        Assert.Equal(["proof.network", "proof.payload.asset", "proof.payload.to"], error.Details.Select(d => d.Field).Order());
    }

    [Theory]
    [InlineData("1.000001")]
    [InlineData("2")]
    [InlineData("1000000000000000000000000")]
    public void Translate_SignedAmountBelowRequired_InsufficientAmount(string required)
    {
        var error = Refusal(SeedBodies.Edited(r => SeedBodies.Requirements(r)["amount"] = required));

        Assert.Equal(("INSUFFICIENT_AMOUNT", 402), (error.Code, error.Status));
        Assert.Equal("proof.payload.amount", Assert.Single(error.Details).Field);
    }

    private static PaymentProblem Refusal(byte[] body)
    {
        var translation = SeedPaymentTranslator.Translate(body);
        Assert.False(translation.Succeeded, "expected a refusal");
        Assert.NotEmpty(translation.Error.Message);
        return translation.Error;
    }

    /// <summary>The same address with one letter's case flipped, so the EIP-55 checksum no longer matches.</summary>
    private static string BreakChecksum(string address)
    {
        var chars = address.ToCharArray();
        var i = Array.FindIndex(chars, 2, char.IsAsciiLetter);
        chars[i] = char.IsAsciiLetterUpper(chars[i]) ? char.ToLowerInvariant(chars[i]) : char.ToUpperInvariant(chars[i]);
        return new string(chars);
    }
}
