using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Health;

/// <summary>Active probes (<c>GET /supported</c> every interval) mark upstreams unhealthy and bring them back.</summary>
public sealed class ActiveHealthTests
{
    [Fact]
    public async Task Probe_PrimaryDownThenBack_SkippedThenPrimaryAgainWithoutRequestsFailing()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/supported", 503, "{}");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_HEALTH_CHECK"] = "true";
        settings["FACILITATOR_HEALTH_CHECK_INTERVAL_MS"] = "200";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        await using var gateway = await GatewayHost.StartAsync(settings);

        await Eventually.TrueAsync(async () => await PrimaryHealthyAsync(gateway) == false, "probes mark the primary unhealthy");
        using (var skipped = await gateway.PostAsync("/verify", TestPayments.V1))
        {
            Assert.Equal("secondary", Header(skipped, "X-Facilitator-Upstream"));
        }

        Assert.Equal(0, primary.CountOf("/verify"));

        primary.Answer("/supported", 200, """{"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"}]}""");
        await Eventually.TrueAsync(async () => await PrimaryHealthyAsync(gateway) == true, "a successful probe brings the primary back");
        using (var back = await gateway.PostAsync("/verify", TestPayments.V1))
        {
            Assert.Equal("primary", Header(back, "X-Facilitator-Upstream"));
        }

        var health = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health")).GetProperty("health").GetProperty("facilitators")[0];
        Assert.Equal(1, health.GetProperty("timesMarkedUnhealthy").GetInt64());
        Assert.Equal(1, health.GetProperty("timesRecovered").GetInt64());
    }

    [Fact]
    public async Task HealthEndpoints_OneOfTwoUpstreamsDown_DegradedButReady()
    {
        await using var up = await FakeFacilitator.StartAsync();
        using var down = new RefusingEndpoint();
        var settings = GatewayHost.Upstreams(("up", up.Url), ("down", down.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings);
        (await gateway.PostAsync("/api/facilitator-status", """{"action":"check-health"}""")).Dispose();

        using var health = await gateway.Client.GetAsync("/health");
        var json = Json(await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("degraded", json.GetProperty("status").GetString());
        Assert.Equal("unhealthy", json.GetProperty("checks").GetProperty("upstream:down").GetString());
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task HealthEndpoints_EveryUpstreamDown_UnhealthyAndNotReady()
    {
        using var down = new RefusingEndpoint();
        var settings = GatewayHost.Upstreams(("down", down.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings);
        (await gateway.PostAsync("/api/facilitator-status", """{"action":"check-health"}""")).Dispose();

        using var health = await gateway.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal("unhealthy", Json(await health.Content.ReadAsStringAsync()).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/health/live")).StatusCode);
    }

    private static async Task<bool> PrimaryHealthyAsync(GatewayHost gateway) =>
        Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health"))
            .GetProperty("health").GetProperty("facilitators")[0].GetProperty("isHealthy").GetBoolean();
}
