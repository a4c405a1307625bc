using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary>Failover behaviour of <c>/verify</c> and <c>/settle</c> against real upstream servers on loopback.</summary>
public sealed class PaymentEndpointsFailoverTests
{
    [Fact]
    public async Task Verify_PrimaryRefusesConnections_SecondaryAnswers()
    {
        using var primary = new RefusingEndpoint();
        await using var secondary = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/verify", TestPayments.V1);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal("3", Header(response, "X-Facilitator-Attempts"));
        Assert.True(Json(await response.Content.ReadAsStringAsync()).GetProperty("isValid").GetBoolean());
        Assert.Equal(1, secondary.CountOf("/verify"));
    }

    [Fact]
    public async Task Verify_PrimaryHangs_SecondaryAnswersAfterAttemptTimeout()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/verify");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_TIMEOUT_MS"] = "300";
        settings["FACILITATOR_RETRIES"] = "0";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/verify", TestPayments.V2);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal("2", Header(response, "X-Facilitator-Attempts"));
        Assert.Equal(1, primary.CountOf("/verify"));
        await Eventually.TrueAsync(() => primary.Cancelled == 1, "the hung attempt is cancelled");
    }

    [Fact]
    public async Task Verify_Primary500_RetriedThenSecondary()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/verify", 500, """{"error":"boom"}""");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_RETRIES"] = "2";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/verify", TestPayments.V1);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal(3, primary.CountOf("/verify"));
        Assert.Equal(1, secondary.CountOf("/verify"));
        Assert.Equal("4", Header(response, "X-Facilitator-Attempts"));
    }

    [Theory]
    [InlineData(200, """{"isValid":false,"invalidReason":"invalid_exact_evm_payload_signature","payer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}""")]
    [InlineData(400, """{"isValid":false,"invalidReason":"invalid_payload","invalidMessage":"bad"}""")]
    [InlineData(402, """{"isValid":false,"invalidReason":"invalid_exact_evm_insufficient_balance","payer":"0x1"}""")]
    [InlineData(412, """{"isValid":false,"invalidReason":"permit2_allowance_required","payer":"0x1"}""")]
    public async Task Verify_PrimaryGivesDefiniteAnswer_ReturnedAsItCameWithoutFailover(int status, string body)
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/verify", status, body);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/verify", TestPayments.V1);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
        Assert.Equal("primary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal(0, secondary.CountOf("/verify"));
    }

    [Theory]
    [InlineData(429, """{"error":"slow down"}""", "application/json")]
    [InlineData(200, "<html>proxy error</html>", "text/html")]
    [InlineData(200, """{"unexpected":"shape"}""", "application/json")]
    [InlineData(503, """{"isValid":false,"invalidReason":"unexpected_verify_error"}""", "application/json")]
    [InlineData(422, """{"error":"unprocessable"}""", "application/json")]
    [InlineData(402, """{"errorType":"payment_method_required","errorMessage":"add a payment method"}""", "application/json")]
    public async Task Verify_PrimaryAnswersWithFailure_SecondaryAnswers(int status, string body, string contentType)
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.On("/verify", context => FakeFacilitator.WriteAsync(context, status, body, contentType));
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/verify", TestPayments.V2);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
    }

    [Fact]
    public async Task Settle_PrimaryTimesOut_SettlementPendingAndNoSecondUpstream()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.False(json.GetProperty("success").GetBoolean());
        Assert.Equal("settlement_pending", json.GetProperty("errorReason").GetString());
        Assert.Contains("primary", json.GetProperty("errorMessage").GetString());
        Assert.Equal("", json.GetProperty("transaction").GetString());
        Assert.Equal("base-sepolia", json.GetProperty("network").GetString());
        Assert.Equal(TestPayments.Payer, json.GetProperty("payer").GetString());
        Assert.Equal(1, primary.CountOf("/settle"));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_Primary500_SettlementPendingWithoutRetryOrFailover()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", 502, """{"error":"bad gateway"}""");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/settle", TestPayments.V2);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("settlement_pending", Json(await response.Content.ReadAsStringAsync()).GetProperty("errorReason").GetString());
        Assert.Equal(1, primary.CountOf("/settle"));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_PrimaryRefusesConnections_SecondarySettles()
    {
        using var primary = new RefusingEndpoint();
        await using var secondary = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.True(Json(await response.Content.ReadAsStringAsync()).GetProperty("success").GetBoolean());
        Assert.Equal(1, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_Primary429_SecondarySettles()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", 429, """{"error":"rate limited"}""");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_RETRIES"] = "0";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal(1, primary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_PrimarySaysSuccessFalse_ReturnedWithoutFailover()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        const string Body = """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"base-sepolia"}""";
        primary.Answer("/settle", 200, Body);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(Body, await response.Content.ReadAsStringAsync());
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Verify_EveryUpstreamFails_503ListingEachUpstream()
    {
        using var primary = new RefusingEndpoint();
        await using var secondary = await FakeFacilitator.StartAsync();
        secondary.Answer("/verify", 500, "{}");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_RETRIES"] = "0";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/verify", TestPayments.V1);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.False(json.GetProperty("isValid").GetBoolean());
        Assert.Equal("unexpected_verify_error", json.GetProperty("invalidReason").GetString());
        var message = json.GetProperty("invalidMessage").GetString()!;
        Assert.Contains("primary: connection failed", message);
        Assert.Contains("secondary: server error (HTTP 500)", message);
    }

    [Fact]
    public async Task Settle_EveryUpstreamRefuses_503InSettleShape()
    {
        using var primary = new RefusingEndpoint();
        using var secondary = new RefusingEndpoint();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/settle", TestPayments.V2);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal("unexpected_settle_error", json.GetProperty("errorReason").GetString());
        Assert.Equal("eip155:84532", json.GetProperty("network").GetString());
        Assert.Equal("", json.GetProperty("transaction").GetString());
    }

    [Fact]
    public async Task Verify_AggregatorDisabled_OnlyFirstUpstreamWithoutFailover()
    {
        using var primary = new RefusingEndpoint();
        await using var secondary = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["ENABLE_FACILITATOR_AGGREGATOR"] = "false";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/verify", TestPayments.V1);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(0, secondary.CountOf("/verify"));
        Assert.Equal("2", Header(response, "X-Facilitator-Attempts"));
    }

    [Fact]
    public async Task Verify_ExtraHeadersConfigured_SentPerOperation()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Upstreams:0:Headers:*:X-Tenant"] = "acme";
        settings["Upstreams:0:Headers:verify:X-Custom-Auth"] = "verify-token";
        settings["Upstreams:0:Headers:settle:X-Custom-Auth"] = "settle-token";
        await using var gateway = await GatewayHost.StartAsync(settings);

        (await gateway.PostAsync("/verify", TestPayments.V1)).Dispose();
        (await gateway.PostAsync("/settle", TestPayments.V1)).Dispose();

        var verify = upstream.Received.Single(r => r.Path == "/verify");
        var settle = upstream.Received.Single(r => r.Path == "/settle");
        Assert.Equal("verify-token", verify.Headers["X-Custom-Auth"]);
        Assert.Equal("settle-token", settle.Headers["X-Custom-Auth"]);
        Assert.Equal("acme", verify.Headers["X-Tenant"]);
    }
}
