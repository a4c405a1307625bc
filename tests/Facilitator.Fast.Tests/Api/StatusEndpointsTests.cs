using System.Net;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary>The seed's monitoring API: <c>/api/facilitator-status</c>.</summary>
public sealed class StatusEndpointsTests
{
    private const string SecretHeader = "hdr-secret-6f1c2b";
    private static readonly string CdpSecret = CdpTestKey.Ed25519().Secret;

    [Fact]
    public async Task Get_NoInclude_AllSectionsInSeedShapeWithLatencyPercentiles()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("x402-rs", upstream.Url)));
        (await gateway.PostAsync("/verify", SignedPayments.V1)).Dispose();
        (await gateway.PostAsync("/settle", SignedPayments.V1)).Dispose();

        var json = Json(await gateway.Client.GetStringAsync("/api/facilitator-status"));

        Assert.True(json.GetProperty("enabled").GetBoolean());
        Assert.EndsWith("Z", json.GetProperty("timestamp").GetString());
        var health = json.GetProperty("health");
        var facilitator = health.GetProperty("facilitators")[0];
        Assert.Equal("x402-rs", facilitator.GetProperty("id").GetString());
        Assert.True(facilitator.GetProperty("isHealthy").GetBoolean());
        Assert.Equal(0, facilitator.GetProperty("consecutiveFailures").GetInt32());
        Assert.Equal(2, facilitator.GetProperty("totalSuccesses").GetInt64());
        Assert.Equal(0, facilitator.GetProperty("totalFailures").GetInt64());
        Assert.Equal("100%", facilitator.GetProperty("successRate").GetString());
        Assert.True(facilitator.GetProperty("averageResponseTimeMs").GetDouble() > 0);
        Assert.NotNull(facilitator.GetProperty("lastSuccessfulCheck").GetString());
        Assert.Equal(1, health.GetProperty("summary").GetProperty("total").GetInt32());
        Assert.Equal(1, health.GetProperty("summary").GetProperty("healthy").GetInt32());
        Assert.Equal(0, health.GetProperty("summary").GetProperty("unhealthy").GetInt32());

        var stats = json.GetProperty("statistics").GetProperty("facilitators")[0];
        Assert.Equal(1, stats.GetProperty("operations").GetProperty("verify").GetInt64());
        Assert.Equal(1, stats.GetProperty("operations").GetProperty("settle").GetInt64());
        Assert.Equal(0, stats.GetProperty("operations").GetProperty("list").GetInt64());
        Assert.Equal(2, stats.GetProperty("operations").GetProperty("total").GetInt64());
        Assert.Equal(2, stats.GetProperty("results").GetProperty("success").GetInt64());
        var performance = stats.GetProperty("performance");
        Assert.True(performance.GetProperty("p50Ms").GetDouble() > 0);
        Assert.True(performance.GetProperty("p99Ms").GetDouble() >= performance.GetProperty("p95Ms").GetDouble());

        Assert.Equal(2, json.GetProperty("logs").GetArrayLength());
        Assert.Equal("settle", json.GetProperty("logs")[0].GetProperty("operation").GetString());
        Assert.Equal(5000, json.GetProperty("config").GetProperty("timeoutMs").GetInt32());
    }

    [Theory]
    [InlineData("include=health", "health")]
    [InlineData("include=stats", "statistics")]
    [InlineData("include=logs&logLimit=50", "logs")]
    [InlineData("include=config", "config")]
    [InlineData("include=health,stats", "health statistics")]
    [InlineData("include=health&include=logs", "health logs")]
    public async Task Get_Include_OnlyRequestedSections(string query, string expected)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        var json = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?" + query));

        var sections = new[] { "health", "statistics", "logs", "config" }.Where(s => json.TryGetProperty(s, out _));
        Assert.Equal(expected.Split(' '), sections);
        Assert.True(json.TryGetProperty("enabled", out _));
        Assert.True(json.TryGetProperty("timestamp", out _));
    }

    [Fact]
    public async Task Get_LogLimit_BoundsLogs()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        for (var i = 0; i < 5; i++)
        {
            (await gateway.PostAsync("/verify", SignedPayments.V1)).Dispose();
        }

        var json = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=logs&logLimit=3"));

        Assert.Equal(3, json.GetProperty("logs").GetArrayLength());
    }

    [Theory]
    [InlineData("include=bogus", "include")]
    [InlineData("logLimit=abc", "logLimit")]
    [InlineData("logLimit=0", "logLimit")]
    [InlineData("logLimit=1000000", "logLimit")]
    public async Task Get_InvalidQuery_400ValidationErrorNamingTheField(string query, string field)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.Client.GetAsync("/api/facilitator-status?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal("VALIDATION_ERROR", json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(field, json.GetProperty("error").GetProperty("details")[0].GetProperty("field").GetString());
        Assert.True(json.TryGetProperty("requestId", out _));
        Assert.True(json.GetProperty("timestamp").GetInt64() > 0);
    }

    [Fact]
    public async Task Get_SecretsConfigured_NeverInTheStatusApi()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Upstreams:0:Headers:verify:Authorization"] = "Bearer " + SecretHeader;
        settings["Upstreams:1:Id"] = "cdp";
        settings["Upstreams:1:Kind"] = "coinbase-cdp";
        settings["Upstreams:1:Url"] = "http://127.0.0.1:9/platform/v2/x402";
        settings["CDP_API_KEY_ID"] = "organizations/abc/apiKeys/key-id-5a4b";
        settings["CDP_API_KEY_SECRET"] = CdpSecret;
        await using var gateway = await GatewayHost.StartAsync(settings);
        (await gateway.PostAsync("/verify", SignedPayments.V1)).Dispose();

        var text = await gateway.Client.GetStringAsync("/api/facilitator-status");

        Assert.DoesNotContain(SecretHeader, text);
        Assert.DoesNotContain(CdpSecret, text);
        Assert.DoesNotContain("key-id-5a4b", text);
        var config = Json(text).GetProperty("config");
        Assert.True(config.GetProperty("cdp").GetProperty("apiKeySecretConfigured").GetBoolean());
        Assert.Equal("Authorization", config.GetProperty("facilitators")[0].GetProperty("headerNames").GetProperty("verify")[0].GetString());
    }

    [Fact]
    public async Task Get_CdpWithoutCredentials_ListedAsDisabledWithReason()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Upstreams:1:Id"] = "coinbase-cdp";
        settings["Upstreams:1:Kind"] = "coinbase-cdp";
        settings["Upstreams:1:Url"] = "http://127.0.0.1:9/platform/v2/x402";
        await using var gateway = await GatewayHost.StartAsync(settings);

        var json = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health"));

        var cdp = json.GetProperty("health").GetProperty("facilitators").EnumerateArray().Single(f => f.GetProperty("id").GetString() == "coinbase-cdp");
        Assert.False(cdp.GetProperty("enabled").GetBoolean());
        Assert.False(cdp.GetProperty("isHealthy").GetBoolean());
        Assert.Contains("CDP_API_KEY_ID", cdp.GetProperty("disabledReason").GetString());
        Assert.Equal(1, json.GetProperty("health").GetProperty("summary").GetProperty("disabled").GetInt32());
    }

    [Fact]
    public async Task Post_CheckHealth_ProbesEveryUpstreamAndReturnsHealth()
    {
        await using var up = await FakeFacilitator.StartAsync();
        using var down = new RefusingEndpoint();
        var settings = GatewayHost.Upstreams(("up", up.Url), ("down", down.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/api/facilitator-status", """{"action":"check-health"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.False(json.TryGetProperty("statistics", out _));
        var facilitators = json.GetProperty("health").GetProperty("facilitators");
        Assert.True(facilitators[0].GetProperty("isHealthy").GetBoolean());
        Assert.False(facilitators[1].GetProperty("isHealthy").GetBoolean());
        Assert.Contains("connection failed", facilitators[1].GetProperty("lastError").GetString());
        Assert.Equal(1, up.CountOf("/supported"));
    }

    [Theory]
    [InlineData("""{"action":"reboot"}""")]
    [InlineData("""{}""")]
    [InlineData("not json")]
    public async Task Post_OtherAction_400(string body)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.Client.PostAsync("/api/facilitator-status", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("action", Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetProperty("details")[0].GetProperty("field").GetString());
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task Get_AggregatorDisabled_EnabledFalseAndOthersListedUnused()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("first", first.Url), ("second", second.Url));
        settings["ENABLE_FACILITATOR_AGGREGATOR"] = "false";
        await using var gateway = await GatewayHost.StartAsync(settings);

        var json = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health"));

        Assert.False(json.GetProperty("enabled").GetBoolean());
        var second2 = json.GetProperty("health").GetProperty("facilitators")[1];
        Assert.False(second2.GetProperty("enabled").GetBoolean());
        Assert.Contains("ENABLE_FACILITATOR_AGGREGATOR", second2.GetProperty("disabledReason").GetString());
    }
}
