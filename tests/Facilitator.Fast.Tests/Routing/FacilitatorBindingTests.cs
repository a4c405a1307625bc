using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// Payments signed for one facilitator (an SVM fee payer, an <c>upto</c> facilitator address, a batch receiver
/// authorizer in the requirements' <c>extra</c>) go to the upstream that advertises that value and nowhere else; the
/// merged <c>/supported</c> advertises the values of the upstream payments would reach.
/// </summary>
public sealed class FacilitatorBindingTests
{
    private static string Supported(string feePayer, string? extraField = null) =>
        "{\"kinds\":[{\"x402Version\":2,\"scheme\":\"exact\",\"network\":\"solana:devnet\",\"extra\":{\"feePayer\":\"" + feePayer + "\"}},"
        + "{\"x402Version\":2,\"scheme\":\"exact\",\"network\":\"eip155:84532\"}],\"extensions\":[],\"signers\":{}" + extraField + "}";

    private static string SolanaPayment(string feePayer)
    {
        var requirements = "{\"scheme\":\"exact\",\"network\":\"solana:devnet\",\"amount\":\"1\",\"asset\":\"So1\",\"payTo\":\"So2\",\"maxTimeoutSeconds\":60,\"extra\":{\"feePayer\":\"" + feePayer + "\"}}";
        return "{\"x402Version\":2,\"paymentPayload\":{\"x402Version\":2,\"accepted\":" + requirements + ",\"payload\":{\"transaction\":\"AAAA\"}},\"paymentRequirements\":" + requirements + "}";
    }

    private static async Task<(FakeFacilitator A, FakeFacilitator B, GatewayHost Gateway)> StartAsync(Dictionary<string, string?>? more = null)
    {
        var a = await FakeFacilitator.StartAsync();
        var b = await FakeFacilitator.StartAsync();
        a.Answer("/supported", 200, Supported("FeePayerA"));
        b.Answer("/supported", 200, Supported("FeePayerB"));
        var settings = GatewayHost.Upstreams(("a", a.Url), ("b", b.Url));
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        var gateway = await GatewayHost.StartAsync(settings);
        (await gateway.Client.GetAsync("/supported")).Dispose();
        return (a, b, gateway);
    }

    [Fact]
    public async Task Verify_PaymentSignedForTheSecondUpstreamsFeePayer_SentThereOnly()
    {
        var (a, b, gateway) = await StartAsync();
        await using var _ = a;
        await using var __ = b;
        await using var ___ = gateway;

        using var response = await gateway.PostAsync("/verify", SolanaPayment("FeePayerB"));

        Assert.Equal("b", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal(0, a.CountOf("/verify"));
    }

    [Fact]
    public async Task VerifyAndSettle_TheBoundUpstreamFails_503AndNeverAnotherFacilitatorsVerdict()
    {
        var (a, b, gateway) = await StartAsync();
        await using var _ = a;
        await using var __ = b;
        await using var ___ = gateway;
        a.Answer("/verify", 503, "{}");
        a.Answer("/settle", 503, "{}");

        using var verify = await gateway.PostAsync("/verify", SolanaPayment("FeePayerA"));
        using var settle = await gateway.PostAsync("/settle", SolanaPayment("FeePayerA"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, verify.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, settle.StatusCode);
        Assert.Equal(0, b.CountOf("/verify"));
        Assert.Equal(0, b.CountOf("/settle"));
    }

    [Fact]
    public async Task Verify_FeePayerNoUpstreamAdvertises_503WithoutCallingAny()
    {
        var (a, b, gateway) = await StartAsync();
        await using var _ = a;
        await using var __ = b;
        await using var ___ = gateway;

        using var response = await gateway.PostAsync("/verify", SolanaPayment("FeePayerOfSomeoneElse"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("extra.feePayer", Json(await response.Content.ReadAsStringAsync()).GetProperty("invalidMessage").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, a.CountOf("/verify") + b.CountOf("/verify"));
    }

    [Fact]
    public async Task Supported_FirstUpstreamTurnsUnhealthy_AdvertisesTheFeePayerOfTheUpstreamPaymentsNowReach()
    {
        var (a, b, gateway) = await StartAsync();
        await using var _ = a;
        await using var __ = b;
        await using var ___ = gateway;

        Assert.Equal("FeePayerA", await FeePayerAsync(gateway));
        a.Answer("/verify", 500, "{}");
        (await gateway.PostAsync("/verify", TestPayments.V2)).Dispose();

        Assert.Equal("FeePayerB", await FeePayerAsync(gateway));
    }

    [Fact]
    public async Task Supported_UnknownFieldsOfSeveralUpstreams_KeptTheFirstAtTheTopTheOthersPerUpstream()
    {
        await using var a = await FakeFacilitator.StartAsync();
        await using var b = await FakeFacilitator.StartAsync();
        a.Answer("/supported", 200, Supported("FeePayerA", ",\"batchPolicy\":{\"max\":10},\"onlyA\":true"));
        b.Answer("/supported", 200, Supported("FeePayerB", ",\"batchPolicy\":{\"max\":20},\"onlyB\":\"b\""));
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("a", a.Url), ("b", b.Url)));

        var supported = Json(await gateway.Client.GetStringAsync("/supported"));

        Assert.Equal(10, supported.GetProperty("batchPolicy").GetProperty("max").GetInt32());
        Assert.True(supported.GetProperty("onlyA").GetBoolean());
        Assert.Equal("b", supported.GetProperty("onlyB").GetString());
        Assert.Equal(20, supported.GetProperty("upstreamFields").GetProperty("b").GetProperty("batchPolicy").GetProperty("max").GetInt32());
    }

    private static async Task<string?> FeePayerAsync(GatewayHost gateway)
    {
        var supported = Json(await gateway.Client.GetStringAsync("/supported"));
        return supported.GetProperty("kinds").EnumerateArray()
            .Single(static k => k.GetProperty("network").GetString() == "solana:devnet")
            .GetProperty("extra").GetProperty("feePayer").GetString();
    }
}
