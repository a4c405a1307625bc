using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary><c>GET /supported</c> (merged, cached) and <c>GET /discovery/resources</c> (passed through).</summary>
public sealed class SupportedAndDiscoveryTests
{
    [Fact]
    public async Task Supported_TwoUpstreams_UnionDeduplicatedWithVersionsSeparate()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        first.Answer("/supported", 200, """
            {"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"},{"x402Version":2,"scheme":"exact","network":"eip155:84532","extra":{"from":"first"}}],
             "extensions":["bazaar"],"signers":{"eip155:*":["0xAAA"]}}
            """);
        second.Answer("/supported", 200, """
            {"kinds":[{"x402Version":2,"scheme":"exact","network":"eip155:84532","extra":{"from":"second"}},{"x402Version":2,"scheme":"exact","network":"eip155:8453"}],
             "extensions":["bazaar","sign-in-with-x"],"signers":{"eip155:*":["0xBBB","0xaaa"],"solana:*":["So1"]}}
            """);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("first", first.Url), ("second", second.Url)));

        using var response = await gateway.Client.GetAsync("/supported");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        var kinds = json.GetProperty("kinds").EnumerateArray()
            .Select(k => $"{k.GetProperty("x402Version").GetInt32()}/{k.GetProperty("scheme").GetString()}/{k.GetProperty("network").GetString()}")
            .ToArray();
        Assert.Equal(["1/exact/base-sepolia", "2/exact/eip155:84532", "2/exact/eip155:8453"], kinds);
        Assert.Equal("first", json.GetProperty("kinds")[1].GetProperty("extra").GetProperty("from").GetString());
        Assert.Equal(["bazaar", "sign-in-with-x"], json.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToArray());
        Assert.Equal(["0xAAA", "0xBBB"], json.GetProperty("signers").GetProperty("eip155:*").EnumerateArray().Select(e => e.GetString()).ToArray());
        Assert.Equal(["So1"], json.GetProperty("signers").GetProperty("solana:*").EnumerateArray().Select(e => e.GetString()).ToArray());
    }

    [Fact]
    public async Task Supported_RepeatedWithinCacheTime_UpstreamsAskedOnce()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => gateway.Client.GetAsync("/supported")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(1, upstream.CountOf("/supported"));
    }

    [Fact]
    public async Task Supported_OneUpstreamDown_UnionOfTheOthers()
    {
        using var down = new RefusingEndpoint();
        await using var up = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("down", down.Url), ("up", up.Url)));

        using var response = await gateway.Client.GetAsync("/supported");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, Json(await response.Content.ReadAsStringAsync()).GetProperty("kinds").GetArrayLength());
    }

    [Fact]
    public async Task Supported_NoUpstreamAnswers_503()
    {
        using var down = new RefusingEndpoint();
        await using var garbage = await FakeFacilitator.StartAsync();
        garbage.Answer("/supported", 200, "not json");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("down", down.Url), ("garbage", garbage.Url)));

        using var response = await gateway.Client.GetAsync("/supported");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var message = Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("down: connection failed", message);
        Assert.Contains("garbage: invalid response", message);
    }

    [Fact]
    public async Task Discovery_FirstDoesNotOfferIt_SecondAnswersWithQueryPassedThrough()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        first.Answer("/discovery/resources", 404, "{}");
        const string Listing = """{"x402Version":1,"items":[{"resource":"https://api.example.com/a"}],"pagination":{"limit":5,"offset":10,"total":11}}""";
        second.Answer("/discovery/resources", 200, Listing);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("first", first.Url), ("second", second.Url)));

        using var response = await gateway.Client.GetAsync("/discovery/resources?type=http&limit=5&offset=10");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Listing, await response.Content.ReadAsStringAsync());
        Assert.Equal("?type=http&limit=5&offset=10", second.Received.Single().Query);
        Assert.Equal(1, first.CountOf("/discovery/resources"));
    }

    [Fact]
    public async Task Discovery_NoUpstreamOffersIt_404()
    {
        await using var only = await FakeFacilitator.StartAsync();
        only.Answer("/discovery/resources", 404, "{}");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", only.Url)));

        using var response = await gateway.Client.GetAsync("/discovery/resources");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("NOT_FOUND", Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetProperty("code").GetString());
    }

    private const string DiscoveryKey = "discovery-caller-key-0123456789";

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartWithListSecretAsync(bool withKeys)
    {
        var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/discovery/resources", 200, """{"x402Version":1,"items":[],"pagination":{"limit":1,"offset":0,"total":0}}""");
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Upstreams:0:Headers:list:X-Listing-Secret"] = "operator-paid-listing";
        if (withKeys)
        {
            settings["Auth:ApiKeys:0:Name"] = "merchant";
            settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(DiscoveryKey)));
            settings["Auth:ApiKeys:1:Name"] = "api-only";
            settings["Auth:ApiKeys:1:Sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("api-only-key-0123456789"u8));
            settings["Auth:ApiKeys:1:Groups:0"] = "api";
        }

        return (await GatewayHost.StartAsync(settings), upstream);
    }

    private static async Task<HttpResponseMessage> DiscoverAsync(GatewayHost gateway, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/discovery/resources?limit=1");
        if (key is not null)
        {
            request.Headers.Add("X-API-Key", key);
        }

        return await gateway.Client.SendAsync(request);
    }

    [Fact]
    public async Task Discovery_KeysConfiguredAnonymousCaller_SentWithoutTheOperatorsHeaders()
    {
        var (gateway, upstream) = await StartWithListSecretAsync(withKeys: true);
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await DiscoverAsync(gateway, null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(upstream.Received.Single().Headers.ContainsKey("X-Listing-Secret"));
    }

    [Fact]
    public async Task Discovery_KeysConfiguredX402Caller_SentWithTheOperatorsHeaders()
    {
        var (gateway, upstream) = await StartWithListSecretAsync(withKeys: true);
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await DiscoverAsync(gateway, DiscoveryKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("operator-paid-listing", upstream.Received.Single().Headers["X-Listing-Secret"]);
    }

    [Fact]
    public async Task Discovery_KeyOfAnotherGroupOrWrongKey_RefusedAndNothingSent()
    {
        var (gateway, upstream) = await StartWithListSecretAsync(withKeys: true);
        await using var _ = gateway;
        await using var __ = upstream;

        using var otherGroup = await DiscoverAsync(gateway, "api-only-key-0123456789");
        using var wrong = await DiscoverAsync(gateway, "not-a-configured-key-000000");

        Assert.Equal(HttpStatusCode.Forbidden, otherGroup.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.DoesNotContain(upstream.Received, r => r.Path == "/discovery/resources");
    }

    [Fact]
    public async Task Discovery_NoAuthenticationConfigured_SentWithTheOperatorsHeaders()
    {
        var (gateway, upstream) = await StartWithListSecretAsync(withKeys: false);
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await DiscoverAsync(gateway, null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("operator-paid-listing", upstream.Received.Single().Headers["X-Listing-Secret"]);
    }
}
