using System.Net;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// Settle moves to another upstream only when the first provably did not process it; every other failure is
/// answered <c>settlement_pending</c> and the settle is sent nowhere else.
/// </summary>
public sealed class SettleSafetyTests
{
    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(405)]
    public async Task Settle_PrimaryRefusesUnread_SecondarySettles(int status)
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", status, """{"error":"refused"}""");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary.Url, secondary.Url));

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
    }

    [Fact]
    public async Task Settle_Primary408_PendingBecauseAProxyMayHaveForwardedIt()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", 408, """{"error":"timeout"}""");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary.Url, secondary.Url));

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        await AssertPendingAsync(response);
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_ConnectionDroppedAfterSending_PendingAndNoSecondUpstream()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Drop("/settle");
        await using var gateway = await GatewayHost.StartAsync(Settings(primary.Url, secondary.Url));

        using var response = await gateway.PostAsync("/settle", TestPayments.V2);

        await AssertPendingAsync(response);
        Assert.Equal(1, primary.CountOf("/settle"));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_UnreadableAnswer_PendingAndNoSecondUpstream()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.On("/settle", context => FakeFacilitator.WriteAsync(context, 200, "<html>upstream proxy</html>", "text/html"));
        await using var gateway = await GatewayHost.StartAsync(Settings(primary.Url, secondary.Url));

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        await AssertPendingAsync(response);
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_ConnectionAttemptHangs_SecondarySettlesAfterConnectTimeout()
    {
        using var primary = await BlackholeEndpoint.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        var settings = Settings(primary.Url, secondary.Url);
        settings["FACILITATOR_TIMEOUT_MS"] = "400";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
    }

    [Fact]
    public async Task Settle_CallerDisconnects_UpstreamSettleRunsToItsEnd()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(600), 200,
            """{"success":true,"transaction":"0xabc","network":"base-sepolia"}""");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gateway.Client.PostAsync(
            "/settle", new StringContent(TestPayments.V1, Encoding.UTF8, "application/json"), impatient.Token));

        await Eventually.TrueAsync(() => upstream.CompletedLate == 1, "the upstream settle completes");
        Assert.Equal(0, upstream.Cancelled);
        await Eventually.TrueAsync(async () =>
        {
            var logs = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=logs")).GetProperty("logs");
            return logs.GetArrayLength() == 1 && logs[0].GetProperty("success").GetBoolean();
        }, "the settle's answer is recorded");
    }

    [Fact]
    public async Task Settle_AggregatorDisabledAndPrimaryRefuses_503WithoutSecondUpstream()
    {
        using var primary = new RefusingEndpoint();
        await using var secondary = await FakeFacilitator.StartAsync();
        var settings = Settings(primary.Url, secondary.Url);
        settings["ENABLE_FACILITATOR_AGGREGATOR"] = "false";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("unexpected_settle_error", Json(await response.Content.ReadAsStringAsync()).GetProperty("errorReason").GetString());
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_UnhealthyPrimaryPastCooldown_NotUsedAsTrialWhileSecondaryIsHealthy()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/verify", 500, "{}");
        var time = new ManualTimeProvider(TestPayments.SignedAt);
        var settings = Settings(primary.Url, secondary.Url);
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        settings["Aggregator:UnhealthyCooldownMs"] = "1000";
        await using var gateway = await GatewayHost.StartAsync(settings, time);
        (await gateway.PostAsync("/verify", TestPayments.V1)).Dispose();
        time.Advance(TimeSpan.FromSeconds(5));

        using (var settle = await gateway.PostAsync("/settle", TestPayments.V1))
        {
            Assert.Equal("secondary", Header(settle, "X-Facilitator-Upstream"));
        }

        Assert.Equal(0, primary.CountOf("/settle"));
        primary.Answer("/verify", 200, """{"isValid":true}""");
        using var verify = await gateway.PostAsync("/verify", TestPayments.V1);
        Assert.Equal("primary", Header(verify, "X-Facilitator-Upstream"));
    }

    private static Dictionary<string, string?> Settings(string primary, string secondary)
    {
        var settings = GatewayHost.Upstreams(("primary", primary), ("secondary", secondary));
        settings["FACILITATOR_RETRIES"] = "0";
        return settings;
    }

    private static async Task AssertPendingAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal("settlement_pending", json.GetProperty("errorReason").GetString());
        Assert.Equal("primary", Header(response, "X-Facilitator-Upstream"));
    }
}
