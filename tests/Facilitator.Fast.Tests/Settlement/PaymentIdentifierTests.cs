using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// The <c>payment-identifier</c> extension: one id names one request — the same request again gets the recorded answer,
/// another request under the same id gets 409 — on one instance and across two sharing a real <c>redis-server</c>.
/// </summary>
public sealed class PaymentIdentifierTests
{
    private const string Id = "pay_7d5d747be160e280504c099d984bcfe0";
    private const string Valid = """{"isValid":true,"payer":"0x0000000000000000000000000000000000000001"}""";
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    internal static string WithIdentifier(int nonce, string value = "10000", string? id = Id, bool required = false) =>
        PaymentSigner.Request(
            PaymentSigner.CreatePayer(91), 2, Now - 600, Now + 1200, value, value, nonce,
            extensions: "{\"payment-identifier\":{\"info\":{\"required\":" + (required ? "true" : "false")
                + (id is null ? "}}}" : ",\"id\":\"" + id + "\"},\"schema\":{\"type\":\"object\"}}}"));

    private static async Task AssertConflictAsync(HttpResponseMessage response, string field, string reason)
    {
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var answer = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal("payment_identifier_conflict", answer.GetProperty(reason).GetString());
        Assert.False(answer.GetProperty(field).GetBoolean());
    }

    [Fact]
    public async Task Verify_SameIdSameRequest_RecordedAnswerWithoutAskingAgain()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var first = await gateway.PostAsync("/verify", WithIdentifier(1));
        using var second = await gateway.PostAsync("/verify", WithIdentifier(1));

        Assert.Equal(Valid, await first.Content.ReadAsStringAsync());
        Assert.Equal(Valid, await second.Content.ReadAsStringAsync());
        Assert.Equal("replayed", Header(second, "X-Facilitator-Payment-Identifier"));
        Assert.Null(Header(first, "X-Facilitator-Payment-Identifier"));
        Assert.Equal(1, upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task Verify_SameIdAnotherRequest_409AndNotSent()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var first = await gateway.PostAsync("/verify", WithIdentifier(2));
        using var other = await gateway.PostAsync("/verify", WithIdentifier(3));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await AssertConflictAsync(other, "isValid", "invalidReason");
        Assert.Equal(1, upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task Verify_UpstreamFailed_NothingRecordedSoTheRepeatAsksAgain()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 503, "{}");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var first = await gateway.PostAsync("/verify", WithIdentifier(4));
        upstream.Answer("/verify", 200, Valid);
        using var second = await gateway.PostAsync("/verify", WithIdentifier(4));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        Assert.Equal(Valid, await second.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Settle_SameIdAnotherAuthorization_409AndNeverSent()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var cent = await gateway.PostAsync("/settle", WithIdentifier(5, "10000"));
        using var repeat = await gateway.PostAsync("/settle", WithIdentifier(5, "10000"));
        using var fifty = await gateway.PostAsync("/settle", WithIdentifier(6, "50000000"));

        Assert.Equal(Settled, await cent.Content.ReadAsStringAsync());
        Assert.Equal(Settled, await repeat.Content.ReadAsStringAsync());
        Assert.Equal("replayed", Header(repeat, "X-Facilitator-Settlement"));
        await AssertConflictAsync(fifty, "success", "errorReason");
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task VerifyThenSettle_SameIdSameRequest_BothServed()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var verified = await gateway.PostAsync("/verify", WithIdentifier(7));
        using var settled = await gateway.PostAsync("/settle", WithIdentifier(7));

        Assert.Equal(Valid, await verified.Content.ReadAsStringAsync());
        Assert.Equal(Settled, await settled.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("short")]
    [InlineData("pay_has spaces in it_0123456")]
    [InlineData("pay_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9")]
    public async Task Verify_MalformedId_400AndNotSent(string id)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/verify", WithIdentifier(8, id: id));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_payment_identifier", Json(await response.Content.ReadAsStringAsync()).GetProperty("invalidReason").GetString());
        Assert.Equal(0, upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task Settle_RequiredButNoId_400AndNotSent()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/settle", WithIdentifier(9, id: null, required: true));
        using var optional = await gateway.PostAsync("/verify", WithIdentifier(9, id: null, required: false));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_payment_identifier", Json(await response.Content.ReadAsStringAsync()).GetProperty("errorReason").GetString());
        Assert.Equal(0, upstream.CountOf("/settle"));
        Assert.Equal(HttpStatusCode.OK, optional.StatusCode);
    }

    [Fact]
    public async Task SameIdOnTwoInstances_ConflictsAndRepeatsSeenOnBoth()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();

        await AssertSameIdOnTwoInstancesAsync(redis.GatewaySettings(("only", upstream.Url)), upstream);
    }

    /// <summary>Two instances sharing <paramref name="settings"/>' Redis: one id names one request on both.</summary>
    internal static async Task AssertSameIdOnTwoInstancesAsync(Dictionary<string, string?> settings, FakeFacilitator upstream)
    {
        upstream.Answer("/verify", 200, Valid);
        upstream.Answer("/settle", 200, Settled);
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        using var verifiedOnA = await a.PostAsync("/verify", WithIdentifier(10));
        using var repeatOnB = await b.PostAsync("/verify", WithIdentifier(10));
        using var otherOnB = await b.PostAsync("/verify", WithIdentifier(11));
        using var settledOnA = await a.PostAsync("/settle", WithIdentifier(10));
        using var otherSettleOnB = await b.PostAsync("/settle", WithIdentifier(12, "50000000"));

        Assert.Equal(Valid, await repeatOnB.Content.ReadAsStringAsync());
        Assert.Equal("replayed", Header(repeatOnB, "X-Facilitator-Payment-Identifier"));
        await AssertConflictAsync(otherOnB, "isValid", "invalidReason");
        Assert.Equal(Settled, await settledOnA.Content.ReadAsStringAsync());
        await AssertConflictAsync(otherSettleOnB, "success", "errorReason");
        Assert.Equal(1, upstream.CountOf("/verify"));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }
}
