using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// Health measures the upstream, not the caller: what a caller's request provokes (a rejection of the request, a
/// rate limit the upstream applies to the gateway) never counts against an upstream's health, on any instance, however
/// often it is provoked — while an upstream that fails by itself still does.
/// </summary>
public sealed class UpstreamHealthInputTests
{
    private const string SolanaVerify = """
        {"x402Version":2,"paymentPayload":{"x402Version":2,"accepted":{"scheme":"exact","network":"solana:devnet","amount":"1","asset":"So1","payTo":"So2","maxTimeoutSeconds":60},"payload":{"transaction":"AAAA"}},"paymentRequirements":{"scheme":"exact","network":"solana:devnet","amount":"1","asset":"So1","payTo":"So2","maxTimeoutSeconds":60}}
        """;

    private static async Task AssertAllHealthyAsync(params GatewayHost[] gateways)
    {
        foreach (var gateway in gateways)
        {
            var facilitators = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health")).GetProperty("health").GetProperty("facilitators");
            Assert.All(facilitators.EnumerateArray(), static f => Assert.True(f.GetProperty("isHealthy").GetBoolean(), f.GetProperty("id").GetString()));
            using var ready = await gateway.Client.GetAsync("/health/ready");
            Assert.True(ready.StatusCode == HttpStatusCode.OK, await gateway.Client.GetStringAsync("/health"));
        }
    }

    [Fact]
    public async Task Verify_FloodOfRequestsEveryUpstreamRejectsAsPlainText_AllHealthyOnBothInstancesAndAnsweredInTheX402Shape()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        foreach (var upstream in new[] { primary, secondary })
        {
            upstream.On("/verify", static context => FakeFacilitator.WriteAsync(context, 400, "Failed to deserialize the JSON body into the target type: unknown network", "text/plain"));
        }

        var settings = redis.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        for (var i = 0; i < 20; i++)
        {
            using var response = await (i % 2 == 0 ? a : b).PostAsync("/verify", SolanaVerify);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var answer = Json(await response.Content.ReadAsStringAsync());
            Assert.False(answer.GetProperty("isValid").GetBoolean());
            Assert.Equal("invalid_payload", answer.GetProperty("invalidReason").GetString());
            Assert.Contains("unknown network", answer.GetProperty("invalidMessage").GetString(), StringComparison.Ordinal);
        }

        // Each upstream asked once per request: a rejection is not retried on the upstream that rejected it.
        Assert.Equal(20, primary.CountOf("/verify"));
        await AssertAllHealthyAsync(a, b);
        using var valid = await a.PostAsync("/verify", TestPayments.V2);
        Assert.Equal(HttpStatusCode.BadRequest, valid.StatusCode);
        primary.Answer("/verify", 200, """{"isValid":true}""");
        using var afterwards = await b.PostAsync("/verify", TestPayments.V2);
        Assert.Equal("primary", Header(afterwards, "X-Facilitator-Upstream"));
    }

    [Fact]
    public async Task Discovery_FloodOfQueriesTheUpstreamsReject_AllHealthyOnBothInstancesAnd400InTheApiShape()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        foreach (var upstream in new[] { primary, secondary })
        {
            upstream.On("/discovery/resources", static context => FakeFacilitator.WriteAsync(context, 400, "Failed to deserialize query string: limit: invalid digit found in string", "text/plain"));
        }

        var settings = redis.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        for (var i = 0; i < 20; i++)
        {
            using var response = await (i % 2 == 0 ? a : b).Client.GetAsync("/discovery/resources?limit=abc");
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("VALIDATION_ERROR", Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetProperty("code").GetString());
        }

        await AssertAllHealthyAsync(a, b);
    }

    [Fact]
    public async Task Verify_UpstreamRateLimitsTheGateway_NotCountedAgainstItsHealth()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/verify", 429, """{"error":"too many requests"}""");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        await using var gateway = await GatewayHost.StartAsync(settings);

        for (var i = 0; i < 10; i++)
        {
            using var response = await gateway.PostAsync("/verify", TestPayments.V1);
            Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        }

        await AssertAllHealthyAsync(gateway);
    }

    [Fact]
    public async Task Verify_UpstreamFailsByItself_StillCountedAgainstItsHealth()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.On("/verify", static context => FakeFacilitator.WriteAsync(context, 502, "<html>bad gateway</html>", "text/html"));
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        await using var gateway = await GatewayHost.StartAsync(settings);

        (await gateway.PostAsync("/verify", TestPayments.V1)).Dispose();

        var facilitators = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health")).GetProperty("health").GetProperty("facilitators");
        Assert.False(facilitators[0].GetProperty("isHealthy").GetBoolean());
    }

    [Fact]
    public async Task Settle_PrimaryRejectsTheRequestUnread_NothingProcessedSoTheNextUpstreamSettles()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.On("/settle", static context => FakeFacilitator.WriteAsync(context, 400, "Failed to deserialize the JSON body", "text/plain"));
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/settle", TestPayments.V2);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        await AssertAllHealthyAsync(gateway);
    }

    [Theory]
    [InlineData(409, """{"error":"settlement already in progress"}""")]
    [InlineData(402, """{"error":"payment required"}""")]
    public async Task Settle_PrimaryAnswers4xxWithoutAVerdictThatDoesNotSayUnread_PendingNeverTheNextUpstream(int status, string body)
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", status, body);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("primary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal(0, secondary.CountOf("/settle"));
        await AssertAllHealthyAsync(gateway);
    }
}
