using System.Net;
using System.Text.Json;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary><c>/v1/analytics/*</c> on one instance with the in-memory store, fed by settles through <c>/settle</c>.</summary>
public sealed class V1AnalyticsEndpointsTests
{
    [Theory]
    [InlineData("?period=hour", "'hour' is not one of day, week, month, year, 30d.")]
    [InlineData("?period=Day", "'Day' is not one of day, week, month, year, 30d.")]
    [InlineData("?period=", "'' is not one of day, week, month, year, 30d.")]
    [InlineData("?period=day&period=week", "must be given once.")]
    public async Task Revenue_PeriodNotAllowed_400ValidationErrorNamingPeriod(string query, string message)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.Client.GetAsync("/v1/analytics/revenue" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Json(await response.Content.ReadAsStringAsync()).GetProperty("error");
        Assert.Equal("VALIDATION_ERROR", error.GetProperty("code").GetString());
        var detail = Assert.Single(error.GetProperty("details").EnumerateArray());
        Assert.Equal("period", detail.GetProperty("field").GetString());
        Assert.Equal(message, detail.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("", "day", 24)]
    [InlineData("?period=week", "week", 7)]
    [InlineData("?period=year", "year", 12)]
    public async Task Revenue_AllowedPeriod_ItsBuckets(string query, string period, int buckets)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        var json = Json(await gateway.Client.GetStringAsync("/v1/analytics/revenue" + query));

        Assert.Equal(period, json.GetProperty("period").GetString());
        Assert.Equal(buckets, json.GetProperty("buckets").GetArrayLength());
        Assert.True(json.GetProperty("from").GetInt64() < json.GetProperty("to").GetInt64());
    }

    [Fact]
    public async Task Overview_SettledThroughSettleV1AndV2_BothCountedFailedNot()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        (await gateway.PostAsync("/settle", PaymentSigner.Request(PaymentSigner.CreatePayer(301), 1, now - 600, now + 600, value: "1500000", amount: "1500000"))).Dispose();
        (await gateway.PostAsync("/settle", PaymentSigner.Request(PaymentSigner.CreatePayer(302), 2, now - 600, now + 600, value: "250000", amount: "250000"))).Dispose();
        upstream.Answer("/settle", 200, """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"}""");
        (await gateway.PostAsync("/settle", PaymentSigner.Request(PaymentSigner.CreatePayer(303), 2, now - 600, now + 600))).Dispose();

        JsonElement overview = default;
        await Eventually.TrueAsync(
            async () => (overview = Json(await gateway.Client.GetStringAsync("/v1/analytics/overview"))).GetProperty("totalPayments").GetInt64() == 2,
            "both settled payments are counted");

        Assert.Equal("1.75", overview.GetProperty("totalVolume").GetString());
        Assert.Equal("0.0025", overview.GetProperty("totalFees").GetString());
        Assert.Equal(100, overview.GetProperty("uptime").GetDouble());
        var asset = Assert.Single(overview.GetProperty("assets").EnumerateArray());
        Assert.Equal("eip155:84532", asset.GetProperty("network").GetString());
        Assert.Equal("USDC", asset.GetProperty("symbol").GetString());
        Assert.Equal(3, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Networks_AfterASettle_AverageGasWrittenAsNull()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        (await gateway.PostAsync("/settle", PaymentSigner.ValidNow(2, seed: 304))).Dispose();

        string text = "";
        await Eventually.TrueAsync(
            async () => (text = await gateway.Client.GetStringAsync("/v1/analytics/networks")).Contains("eip155:84532", StringComparison.Ordinal),
            "the network appears");

        Assert.Contains("\"averageGas\":null", text, StringComparison.Ordinal);
        var network = Json(text).GetProperty("networks")[0];
        Assert.Equal("0.01", network.GetProperty("volume").GetString());
        Assert.True(network.GetProperty("lastActivity").GetInt64() > 0);
        Assert.Contains("gas", Json(text).GetProperty("note").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Overview_UnknownAsset_BreakdownInAtomicUnitsNotInUsdTotals()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var body = PaymentSigner.Request(
            PaymentSigner.CreatePayer(305), 2, now - 600, now + 600, value: "5000000000000000000", amount: "5000000000000000000",
            token: ("Other Token", "1", "0x1111111111111111111111111111111111111111"));
        using (var settled = await gateway.PostAsync("/settle", body))
        {
            Assert.Equal(HttpStatusCode.OK, settled.StatusCode);
        }

        JsonElement overview = default;
        await Eventually.TrueAsync(
            async () => (overview = Json(await gateway.Client.GetStringAsync("/v1/analytics/overview"))).GetProperty("totalPayments").GetInt64() == 1,
            "the payment is counted");

        Assert.Equal("0", overview.GetProperty("totalVolume").GetString());
        var asset = Assert.Single(overview.GetProperty("assets").EnumerateArray());
        Assert.Equal("5000000000000000000", asset.GetProperty("volume").GetString());
        Assert.Equal("atomic", asset.GetProperty("units").GetString());
        Assert.Equal(JsonValueKind.Null, asset.GetProperty("decimals").ValueKind);
        Assert.Equal("0", asset.GetProperty("fees").GetString());
    }
}
