using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>Consecutive failures take an upstream out of routing; after the cool-down one request tries it again.</summary>
public sealed class PassiveHealthTests
{
    [Fact]
    public async Task Route_MaxConsecutiveFailuresReached_UpstreamSkippedUntilCooldownThenTriedAgain()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/verify", 500, "{}");
        var time = new ManualTimeProvider(TestPayments.SignedAt);
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_RETRIES"] = "1";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        settings["Aggregator:UnhealthyCooldownMs"] = "10000";
        await using var gateway = await GatewayHost.StartAsync(settings, time);

        using (var first = await gateway.PostAsync("/verify", TestPayments.V1))
        {
            Assert.Equal("secondary", Header(first, "X-Facilitator-Upstream"));
        }

        Assert.Equal(2, primary.CountOf("/verify"));

        using (var skipped = await gateway.PostAsync("/verify", TestPayments.V1))
        {
            Assert.Equal("secondary", Header(skipped, "X-Facilitator-Upstream"));
            Assert.Equal("1", Header(skipped, "X-Facilitator-Attempts"));
        }

        Assert.Equal(2, primary.CountOf("/verify"));
        var status = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health"));
        Assert.False(status.GetProperty("health").GetProperty("facilitators")[0].GetProperty("isHealthy").GetBoolean());
        Assert.Equal(1, status.GetProperty("health").GetProperty("summary").GetProperty("unhealthy").GetInt32());

        primary.Answer("/verify", 200, """{"isValid":true}""");
        time.Advance(TimeSpan.FromSeconds(11));

        using (var trial = await gateway.PostAsync("/verify", TestPayments.V1))
        {
            Assert.Equal("primary", Header(trial, "X-Facilitator-Upstream"));
        }

        using (var back = await gateway.PostAsync("/verify", TestPayments.V1))
        {
            Assert.Equal("primary", Header(back, "X-Facilitator-Upstream"));
        }

        status = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health"));
        Assert.True(status.GetProperty("health").GetProperty("facilitators")[0].GetProperty("isHealthy").GetBoolean());
    }

    [Fact]
    public async Task Route_EveryUpstreamUnhealthyAndCoolingDown_NoHealthyFacilitatorsAvailable()
    {
        using var primary = new RefusingEndpoint();
        var time = new ManualTimeProvider(TestPayments.SignedAt);
        var settings = GatewayHost.Upstreams(("primary", primary.Url));
        settings["FACILITATOR_RETRIES"] = "0";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings, time);

        (await gateway.PostAsync("/verify", TestPayments.V1)).Dispose();
        using var response = await gateway.PostAsync("/verify", TestPayments.V1);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("No healthy facilitators available.", Json(await response.Content.ReadAsStringAsync()).GetProperty("invalidMessage").GetString());
        Assert.Equal("0", Header(response, "X-Facilitator-Attempts"));
    }

    [Fact]
    public async Task Route_AggregatorDisabledAndUpstreamUnhealthy_StillTried()
    {
        await using var only = await FakeFacilitator.StartAsync();
        only.Sequence("/verify", 2, c => FakeFacilitator.WriteAsync(c, 500, "{}"), c => FakeFacilitator.WriteAsync(c, 200, """{"isValid":true}"""));
        var settings = GatewayHost.Upstreams(("only", only.Url));
        settings["ENABLE_FACILITATOR_AGGREGATOR"] = "false";
        settings["FACILITATOR_RETRIES"] = "0";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings, new ManualTimeProvider(TestPayments.SignedAt));

        (await gateway.PostAsync("/verify", TestPayments.V1)).Dispose();
        (await gateway.PostAsync("/verify", TestPayments.V1)).Dispose();
        using var third = await gateway.PostAsync("/verify", TestPayments.V1);

        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(3, only.CountOf("/verify"));
    }
}
