using System.Text;
using System.Text.Json.Nodes;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>What a translated seed payment becomes: the x402 v2 request's fields, the defaults, and the record's fields.</summary>
public sealed class SeedPaymentTranslatorOutputTests
{
    [Fact]
    public void Translate_ValidBody_X402RequestInAtomicUnitsWithTheTablesAssetAndDomain()
    {
        var request = Request(SeedBodies.Valid.Body);

        Assert.Equal(2, (int)request["x402Version"]!);
        Assert.Equal(2, (int)request["paymentPayload"]!["x402Version"]!);
        var requirements = request["paymentRequirements"]!;
        Assert.True(JsonNode.DeepEquals(requirements, request["paymentPayload"]!["accepted"]));
        Assert.Equal("exact", (string)requirements["scheme"]!);
        Assert.Equal("eip155:84532", (string)requirements["network"]!);
        Assert.Equal("1000000", (string)requirements["amount"]!);
        Assert.Equal("0x036CbD53842c5426634e7929541eC2318f3dCF7e", (string)requirements["asset"]!);
        Assert.Equal(300, (long)requirements["maxTimeoutSeconds"]!);
        Assert.Equal("""{"name":"USDC","version":"2"}""", requirements["extra"]!.ToJsonString());
        Assert.Equal("""{"url":"https://api.example.com/premium","description":"Premium data"}""", request["paymentPayload"]!["resource"]!.ToJsonString());
        var authorization = request["paymentPayload"]!["payload"]!["authorization"]!;
        Assert.Equal("0", (string)authorization["validAfter"]!);
        Assert.Equal("1767225900", (string)authorization["validBefore"]!);
        Assert.Equal("1000000", (string)authorization["value"]!);
    }

    [Fact]
    public void Translate_OptionalFieldsAbsent_DefaultsAndAPlaceholderResource()
    {
        var request = Request(SeedBodies.Edited(r =>
        {
            SeedBodies.Requirements(r).Remove("maxAge");
            SeedBodies.Requirements(r).Remove("description");
            SeedBodies.Requirements(r).Remove("resource");
        }));

        Assert.Equal(60, (long)request["paymentRequirements"]!["maxTimeoutSeconds"]!);
        Assert.Equal("""{"url":"urn:facilitator-fast:v1-verify"}""", request["paymentPayload"]!["resource"]!.ToJsonString());
    }

    [Fact]
    public void Translate_EmptyResource_PlaceholderResource()
    {
        var request = Request(SeedBodies.Edited(r => SeedBodies.Requirements(r)["resource"] = ""));

        Assert.Equal(SeedPaymentTranslator.PlaceholderResource, (string)request["paymentPayload"]!["resource"]!["url"]!);
    }

    [Fact]
    public void Translate_AssetsBySymbolAndEqualAmountsWrittenDifferently_Accepted()
    {
        var translation = SeedPaymentTranslator.Translate(SeedBodies.Edited(r =>
        {
            SeedBodies.Payload(r)["asset"] = "usdc";
            SeedBodies.Payload(r)["amount"] = "1";
            SeedBodies.Requirements(r)["asset"] = "USDC";
            SeedBodies.Requirements(r)["amount"] = "1.000000";
        }));

        Assert.True(translation.Succeeded);
        Assert.Equal("0x036CbD53842c5426634e7929541eC2318f3dCF7e", translation.Payment.Asset.Address);
        Assert.Equal(("1", "1"), (translation.Payment.Amount, translation.Payment.RequiredAmount));
    }

    [Fact]
    public void Translate_SignedAmountAboveRequired_RequirementsCarryTheSignedValue()
    {
        var translation = SeedPaymentTranslator.Translate(SeedBodies.Edited(r => SeedBodies.Requirements(r)["amount"] = "0.25"));

        Assert.True(translation.Succeeded);
        Assert.Equal("1000000", (string)JsonNode.Parse(translation.Request)!["paymentRequirements"]!["amount"]!);
        Assert.Equal(("1", 1_000_000), (translation.Payment.Amount, (long)translation.Payment.AtomicAmount));
        Assert.Equal(("0.25", 250_000), (translation.Payment.RequiredAmount, (long)translation.Payment.RequiredAtomicAmount));
    }

    [Fact]
    public void Translate_LowerAndUpperCaseHex_ChecksummedAddressesAndLowerCaseHex()
    {
        var valid = Request(SeedBodies.Valid.Body);
        var translation = SeedPaymentTranslator.Translate(SeedBodies.Edited(r =>
        {
            SeedBodies.Payload(r)["from"] = ((string)SeedBodies.Payload(r)["from"]!).ToLowerInvariant();
            SeedBodies.Payload(r)["to"] = "0x" + ((string)SeedBodies.Payload(r)["to"]!)[2..].ToUpperInvariant();
            SeedBodies.Requirements(r)["payTo"] = ((string)SeedBodies.Requirements(r)["payTo"]!).ToLowerInvariant();
            SeedBodies.Payload(r)["nonce"] = "0x" + ((string)SeedBodies.Payload(r)["nonce"]!)[2..].ToUpperInvariant();
            SeedBodies.Proof(r)["signature"] = "0x" + ((string)SeedBodies.Proof(r)["signature"]!)[2..].ToUpperInvariant();
        }));

        Assert.True(translation.Succeeded);
        Assert.True(JsonNode.DeepEquals(valid, JsonNode.Parse(translation.Request)));
        Assert.Equal(SeedBodies.Valid.Signer, translation.Payment.Payer);
    }

    [Fact]
    public void Translate_UnknownFieldsAnywhere_IgnoredAsZodStripsThem()
    {
        var translation = SeedPaymentTranslator.Translate(SeedBodies.Edited(r =>
        {
            r["x402Version"] = 9;
            r["extra"] = new JsonObject { ["deep"] = new JsonArray(1, 2, 3) };
            SeedBodies.Proof(r)["note"] = "hi";
            SeedBodies.Payload(r)["memo"] = null;
            SeedBodies.Requirements(r)["mimeType"] = "application/json";
        }));

        Assert.True(translation.Succeeded);
        Assert.True(JsonNode.DeepEquals(Request(SeedBodies.Valid.Body), JsonNode.Parse(translation.Request)));
    }

    [Fact]
    public void Translate_ValidAfterAndEqualValidBefore_CarriedIntoTheAuthorization()
    {
        var translation = SeedPaymentTranslator.Translate(SeedBodies.Edited(r =>
        {
            SeedBodies.Payload(r)["validAfter"] = 1767225000;
            SeedBodies.Payload(r)["validBefore"] = 1767225900;
        }));

        Assert.True(translation.Succeeded);
        Assert.Equal((1767225000, 1767225900), (translation.Payment.ValidAfter, translation.Payment.ValidBefore));
        var authorization = JsonNode.Parse(translation.Request)!["paymentPayload"]!["payload"]!["authorization"]!;
        Assert.Equal("1767225000", (string)authorization["validAfter"]!);

        // The signature covered validAfter 0, so the reader and verifier see a (correctly) broken signature.
        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(translation.Request, out var view));
        Assert.Equal(LocalVerdict.Invalid(LocalCheck.Signature), SeedPaymentTranslatorVectorTests.EnforcingVerifier(SeedVectors.Now).Judge(translation.Request, view));
    }

    [Fact]
    public void Translate_FlareUsdt0_DomainNameWithNonAsciiReadBackExactly()
    {
        var translation = SeedPaymentTranslator.Translate(SeedBodies.Edited(r =>
        {
            SeedBodies.Proof(r)["network"] = "eip155:14";
            SeedBodies.Requirements(r)["network"] = "eip155:14";
            SeedBodies.Payload(r)["asset"] = "USDT0";
            SeedBodies.Requirements(r)["asset"] = "0xe7cd86e13AC4309349F30B3435a9d337750fC82D";
        }));

        Assert.True(translation.Succeeded);
        Assert.Equal("USD\u20AE0", (string)JsonNode.Parse(translation.Request)!["paymentRequirements"]!["extra"]!["name"]!);
    }

    [Theory]
    [InlineData("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")]
    [InlineData("0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359")]
    [InlineData("0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb", "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB")]
    public void Eip55_Address_TheSpecificationsChecksum(string input, string expected)
    {
        Assert.True(Eip55.TryParse(input, out var address, out var checksumValid));
        Assert.True(checksumValid);
        Assert.Equal(expected, Eip55.Format(address));
        Assert.True(Eip55.TryParse(expected, out _, out checksumValid) && checksumValid);
    }

    private static JsonNode Request(byte[] body)
    {
        var translation = SeedPaymentTranslator.Translate(body);
        Assert.True(translation.Succeeded, translation.Error?.ToString());
        return JsonNode.Parse(translation.Request)!;
    }
}
