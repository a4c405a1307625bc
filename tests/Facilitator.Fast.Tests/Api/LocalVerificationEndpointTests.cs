using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary>Local verification on the request path: enforce answers bad payments itself, shadow only compares, off does nothing.</summary>
public sealed class LocalVerificationEndpointTests
{
    private static readonly PaymentSigner.Payer Payer = PaymentSigner.CreatePayer(7);

    private static string Tampered(int version)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        // Signed for one recipient, then pointed at another: the signature no longer matches.
        var body = PaymentSigner.Request(Payer, version, now - 600, now + 300);
        return body.Replace(Payer.Address, "0x1111111111111111111111111111111111111111", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "invalid_exact_evm_payload_signature")]
    [InlineData(2, "invalid_exact_evm_signature")]
    public async Task Verify_EnforceAndBadSignature_AnsweredLocallyWithoutUpstreamCall(int version, string reason)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:Mode"] = "enforce";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/verify", Tampered(version));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.False(json.GetProperty("isValid").GetBoolean());
        Assert.Equal(reason, json.GetProperty("invalidReason").GetString());
        Assert.Equal("0x1111111111111111111111111111111111111111", json.GetProperty("payer").GetString());
        Assert.Equal("invalid", Header(response, "X-Facilitator-Local-Verdict"));
        Assert.Empty(upstream.Received);
    }

    [Theory]
    [InlineData(1, "\"0xzz", "invalid_exact_evm_payload_signature")]
    [InlineData(2, "\"0xzz", "invalid_exact_evm_signature")]
    [InlineData(2, "\"0x", "invalid_exact_evm_signature")]
    public async Task Verify_EnforceAndNonceNoFacilitatorCanRead_AnsweredLocallyWithoutUpstreamCall(int version, string nonceStart, string reason)
    {
        // "0xzz…" is not hex; "0x" followed by the 64 digits with two cut off is 31 bytes.
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:Mode"] = "enforce";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var body = PaymentSigner.ValidNow(version, seed: 7);
        var at = body.IndexOf("\"nonce\":\"0x", StringComparison.Ordinal) + "\"nonce\":".Length;
        var malformed = body[..at] + nonceStart + body[(at + 5)..];

        using var response = await gateway.PostAsync("/verify", malformed);

        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.False(json.GetProperty("isValid").GetBoolean(), json.ToString());
        Assert.Equal(reason, json.GetProperty("invalidReason").GetString());
        Assert.Equal("authorization.nonce is not 32 bytes of hex.", json.GetProperty("invalidMessage").GetString());
        Assert.Equal("invalid", Header(response, "X-Facilitator-Local-Verdict"));
        Assert.Empty(upstream.Received);
    }

    [Theory]
    [InlineData(1, "version-decimal")]
    [InlineData(2, "version-exponent")]
    [InlineData(2, "byte-order-mark")]
    [InlineData(2, "nested-100-deep")]
    public async Task Verify_EnforceAndBodyEdgeOfAValidPayment_JudgedValidAndForwardedAsReceived(int version, string edge)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:Mode"] = "enforce";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var text = PaymentSigner.ValidNow(version, seed: 7);
        var versionField = $"{{\"x402Version\":{version},";
        byte[] body = edge switch
        {
            "version-decimal" => System.Text.Encoding.UTF8.GetBytes(text.Replace(versionField, $"{{\"x402Version\":{version}.0,", StringComparison.Ordinal)),
            "version-exponent" => System.Text.Encoding.UTF8.GetBytes(text.Replace(versionField, $"{{\"x402Version\":{version}e0,", StringComparison.Ordinal)),
            "byte-order-mark" => [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes(text)],
            _ => System.Text.Encoding.UTF8.GetBytes("{\"memo\":" + new string('[', 100) + new string(']', 100) + "," + text[1..]),
        };

        using var response = await gateway.PostAsync("/verify", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("valid", Header(response, "X-Facilitator-Local-Verdict"));
        Assert.Equal(body, Assert.Single(upstream.Received).Body);
    }

    [Theory]
    [InlineData(1, "base-sepolia")]
    [InlineData(2, "eip155:84532")]
    public async Task Settle_EnforceAndExpired_AnsweredLocallyInSettleShape(int version, string network)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:Mode"] = "enforce";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        using var response = await gateway.PostAsync("/settle", PaymentSigner.Request(Payer, version, now - 600, now - 10));

        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.False(json.GetProperty("success").GetBoolean());
        Assert.Equal("invalid_exact_evm_payload_authorization_valid_before", json.GetProperty("errorReason").GetString());
        Assert.Equal("", json.GetProperty("transaction").GetString());
        Assert.Equal(network, json.GetProperty("network").GetString());
        Assert.Equal(Payer.Address, json.GetProperty("payer").GetString());
        Assert.Empty(upstream.Received);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Verify_EnforceAndValidPayment_ForwardedToUpstream(int version)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:Mode"] = "enforce";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var body = PaymentSigner.ValidNow(version, seed: 7);

        using var response = await gateway.PostAsync("/verify", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("valid", Header(response, "X-Facilitator-Local-Verdict"));
        Assert.Equal(body, Assert.Single(upstream.Received).BodyText);
    }

    [Fact]
    public async Task Verify_EnforceAndOverpayment_ForwardedUnjudged()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:Mode"] = "enforce";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        using var response = await gateway.PostAsync("/verify", PaymentSigner.Request(Payer, 2, now - 600, now + 300, value: "20000", amount: "10000"));

        Assert.Equal("unjudged", Header(response, "X-Facilitator-Local-Verdict"));
        Assert.Single(upstream.Received);
    }

    [Fact]
    public async Task Verify_Shadow_UpstreamAnswerReturnedAndComparisonsCounted()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, """{"isValid":true,"payer":"0x1111111111111111111111111111111111111111"}""");
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:Mode"] = "shadow";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using (var tampered = await gateway.PostAsync("/verify", Tampered(2)))
        {
            Assert.True(Json(await tampered.Content.ReadAsStringAsync()).GetProperty("isValid").GetBoolean());
            Assert.Equal("invalid", Header(tampered, "X-Facilitator-Local-Verdict"));
        }

        (await gateway.PostAsync("/verify", PaymentSigner.ValidNow(1, seed: 7))).Dispose();

        Assert.Equal(2, upstream.CountOf("/verify"));
        var local = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=stats")).GetProperty("localVerification");
        Assert.Equal("shadow", local.GetProperty("mode").GetString());
        Assert.Equal(1, local.GetProperty("valid").GetInt64());
        Assert.Equal(1, local.GetProperty("invalid").GetProperty("signature").GetInt64());
        Assert.Equal(1, local.GetProperty("shadow").GetProperty("agreements").GetInt64());
        Assert.Equal(1, local.GetProperty("shadow").GetProperty("localStricter").GetInt64());
    }

    [Fact]
    public async Task Verify_Off_NoVerdictAndForwarded()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:Mode"] = "off";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/verify", Tampered(1));

        Assert.Null(Header(response, "X-Facilitator-Local-Verdict"));
        Assert.Single(upstream.Received);
    }

    [Fact]
    public async Task Start_UnknownMode_RefusedNamingTheSetting()
    {
        var settings = GatewayHost.Upstreams(("only", "http://127.0.0.1:9"));
        settings["LocalVerification:Mode"] = "sometimes";

        var ex = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

        Assert.Contains("LocalVerification", ex.Message);
    }
}
