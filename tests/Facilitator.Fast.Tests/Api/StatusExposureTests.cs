using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary>
/// What the service's own APIs expose and provoke: upstream URLs shown by origin only, header values never, and
/// <c>check-health</c> bounded to one probe round per interval whoever asks.
/// </summary>
public sealed class StatusExposureTests
{
    [Fact]
    public async Task Status_UpstreamUrlWithATokenInItsPath_ShownByOriginOnly()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("tokened", upstream.Url + "/key/s3cr3t-t0ken/"));
        settings["Upstreams:0:Headers:*:X-Secret"] = "h3ader-va1ue";
        await using var gateway = await GatewayHost.StartAsync(settings);

        var status = await gateway.Client.GetStringAsync("/api/facilitator-status");
        var health = await gateway.Client.GetStringAsync("/health");

        Assert.DoesNotContain("s3cr3t-t0ken", status, StringComparison.Ordinal);
        Assert.DoesNotContain("h3ader-va1ue", status, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-t0ken", health, StringComparison.Ordinal);
        var shown = Json(status).GetProperty("config").GetProperty("facilitators")[0].GetProperty("url").GetString();
        Assert.Equal(new Uri(upstream.Url).GetLeftPart(UriPartial.Authority), shown);
    }

    [Fact]
    public async Task CheckHealth_AskedManyTimes_OneProbeRoundPerInterval()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Aggregator:CheckHealthMinIntervalMs"] = "60000";
        await using var gateway = await GatewayHost.StartAsync(settings);

        for (var i = 0; i < 10; i++)
        {
            using var response = await gateway.Client.PostAsync("/api/facilitator-status", new StringContent("""{"action":"check-health"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(1, upstream.CountOf("/supported"));
    }
}
