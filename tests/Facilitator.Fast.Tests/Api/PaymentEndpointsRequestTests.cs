using System.Net;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary>What <c>/verify</c> and <c>/settle</c> accept, forward and refuse.</summary>
public sealed class PaymentEndpointsRequestTests
{
    [Theory]
    [InlineData("/verify")]
    [InlineData("/settle")]
    public async Task Post_UnknownFieldsAndOddFormatting_ForwardedByteForByte(string path)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var body = Encoding.UTF8.GetBytes(
            "{ \"x402Version\" : 2,\n  \"paymentPayload\":" + TestPayments.V2[(TestPayments.V2.IndexOf("\"paymentPayload\":", StringComparison.Ordinal) + 17)..^1]
            + ",\"futureField\":{\"n\":1.50e3,\"s\":\"\\u00e9\\ud83d\\ude00\"} }");

        using var response = await gateway.PostAsync(path, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(upstream.Received);
        Assert.Equal(body, received.Body);
        Assert.Contains("\"extensions\":{\"bazaar\":{\"info\":{\"kept\":true}}}", received.BodyText);
        Assert.Equal("application/json", received.Headers["Content-Type"]);
    }

    [Fact]
    public async Task Verify_UpstreamAnswerBytes_ReturnedUnchanged()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        const string Answer = "{ \"isValid\" : true, \"payer\":\"0x857b06519E91e3A54538791bDbb0E22373e36b66\", \"extra\": {\"z\":[1,2]} }";
        upstream.Answer("/verify", 200, Answer);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/verify", TestPayments.V1);

        Assert.Equal(Answer, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/verify")]
    [InlineData("/settle")]
    public async Task Post_BodyOverLimit_413InOfficialShapeWithoutUpstreamCall(string path)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var padding = new string(' ', 70 * 1024);

        using var response = await gateway.PostAsync(path, TestPayments.V1[..^1] + padding + "}");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_payload", json.GetProperty(path == "/verify" ? "invalidReason" : "errorReason").GetString());
        Assert.Contains("65536", json.GetProperty(path == "/verify" ? "invalidMessage" : "errorMessage").GetString());
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task Verify_ChunkedBodyOverLimit_413WithoutReadingItAll()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var body = Encoding.UTF8.GetBytes(TestPayments.V1[..^1] + new string(' ', 200 * 1024) + "}");

        using var response = await gateway.Client.PostAsync("/verify", new UndeclaredLengthContent(body));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("invalid_payload", Json(await response.Content.ReadAsStringAsync()).GetProperty("invalidReason").GetString());
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task Verify_ChunkedBodyWithinLimit_ForwardedWhole()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var body = Encoding.UTF8.GetBytes(TestPayments.V2);

        using var response = await gateway.Client.PostAsync("/verify", new UndeclaredLengthContent(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, Assert.Single(upstream.Received).Body);
    }

    [Theory]
    [InlineData("not json", "invalid_payload")]
    [InlineData("", "invalid_payload")]
    [InlineData("[1,2]", "invalid_payload")]
    [InlineData("{\"paymentPayload\":{},\"paymentRequirements\":{}}", "invalid_x402_version")]
    [InlineData("{\"x402Version\":3,\"paymentPayload\":{},\"paymentRequirements\":{}}", "invalid_x402_version")]
    [InlineData("{\"x402Version\":\"1\",\"paymentPayload\":{},\"paymentRequirements\":{}}", "invalid_x402_version")]
    [InlineData("{\"x402Version\":1,\"paymentRequirements\":{}}", "invalid_payload")]
    [InlineData("{\"x402Version\":1,\"paymentPayload\":{}}", "invalid_payment_requirements")]
    [InlineData("{\"x402Version\":1,\"paymentPayload\":[],\"paymentRequirements\":{}}", "invalid_payload")]
    [InlineData("{\"x402Version\":1,\"paymentPayload\":{},\"paymentRequirements\":{}} trailing", "invalid_payload")]
    [InlineData("{\"x402Version\":1,\"paymentPayload\":{},\"paymentPayload\":{},\"paymentRequirements\":{}}", "invalid_payload")]
    public async Task Verify_NotAFacilitatorRequest_400InOfficialShapeWithoutUpstreamCall(string body, string reason)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/verify", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.False(json.GetProperty("isValid").GetBoolean());
        Assert.Equal(reason, json.GetProperty("invalidReason").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("invalidMessage").GetString()));
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task Settle_NotAFacilitatorRequest_400InSettleShape()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/settle", new byte[] { 0x7b, 0xff, 0xfe, 0x7d });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.False(json.GetProperty("success").GetBoolean());
        Assert.Equal("invalid_payload", json.GetProperty("errorReason").GetString());
        Assert.Equal("", json.GetProperty("transaction").GetString());
        Assert.Equal("", json.GetProperty("network").GetString());
    }

    [Fact]
    public async Task Verify_UpstreamHasBasePath_CalledBelowIt()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/platform/x402/verify", 200, """{"isValid":true}""");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("cdp-like", upstream.Url + "/platform/x402")));

        using var response = await gateway.PostAsync("/verify", TestPayments.V2);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/platform/x402/verify", Assert.Single(upstream.Received).Path);
    }
}
