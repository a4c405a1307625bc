using System.Net;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>
/// Adversarial review (review-3) of discovery credentials: with authentication configured, no spelling of the
/// discovery path, method or header trick lets an anonymous caller's query reach an upstream with the operator's
/// configured headers or its PayAI merchant token. These attacks held; the tests pin them.
/// </summary>
public sealed class DiscoveryCredentialsReviewTests
{
    private const string Key = "review3-x402-caller-key-0123456789";
    private const string Secret = "operator-paid-listing-review3";

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync()
    {
        var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/discovery/resources", 200, """{"x402Version":1,"items":[],"pagination":{"limit":1,"offset":0,"total":0}}""");
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Upstreams:0:Headers:list:X-Listing-Secret"] = Secret;
        settings["Upstreams:0:Auth:Kind"] = "payai-merchant";
        settings["Upstreams:0:Auth:KeyId"] = "review3-merchant";
        settings["Upstreams:0:Auth:PrivateKey"] = Convert.ToBase64String(SHA256.HashData("review3 seed"u8));
        settings["Auth:ApiKeys:0:Name"] = "merchant";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        return (await GatewayHost.StartAsync(settings), upstream);
    }

    private static void AssertNothingOfTheOperatorsSent(FakeFacilitator upstream)
    {
        foreach (var received in upstream.Received)
        {
            Assert.False(received.Headers.ContainsKey("X-Listing-Secret"), $"{received.Method} {received.Path} carried the operator's header");
            Assert.False(received.Headers.ContainsKey("Authorization"), $"{received.Method} {received.Path} carried the operator's token");
            Assert.DoesNotContain(Secret, received.Query, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("/discovery/resources?limit=1")]
    [InlineData("/DISCOVERY/resources?limit=1")]
    [InlineData("/Discovery/Resources")]
    [InlineData("/discovery/resources/")]
    [InlineData("//discovery/resources")]
    [InlineData("/discovery%2Fresources")]
    [InlineData("/discovery/%2e/resources")]
    [InlineData("/discovery/resources;x=1")]
    [InlineData("/./discovery/resources")]
    [InlineData("/api/../discovery/resources")]
    [InlineData("/health/../discovery/resources")]
    public async Task AnonymousPathVariant_NeverCarriesTheOperatorsCredentials(string path)
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        // Written byte for byte: HttpClient would read "//discovery" as a host.
        var server = gateway.Client.BaseAddress!;
        await RawHttp.SendAsync(server, $"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\n");

        AssertNothingOfTheOperatorsSent(upstream);
    }

    [Theory]
    [InlineData("HEAD")]
    [InlineData("OPTIONS")]
    [InlineData("POST")]
    public async Task AnonymousOtherMethod_NeverCarriesTheOperatorsCredentials(string method)
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var request = new HttpRequestMessage(new HttpMethod(method), "/discovery/resources?limit=1");
        request.Headers.TryAddWithoutValidation("Origin", "https://example.com");
        request.Headers.TryAddWithoutValidation("Access-Control-Request-Method", "GET");
        using var response = await gateway.Client.SendAsync(request);

        AssertNothingOfTheOperatorsSent(upstream);
    }

    /// <summary>Headers a caller might hope the gateway reads as authentication or forwards: none of them counts.</summary>
    [Fact]
    public async Task AnonymousWithSpoofedForwardingAndAnEmptyKey_NeverCarriesTheOperatorsCredentials()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var request = new HttpRequestMessage(HttpMethod.Get, "/discovery/resources?limit=1");
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "127.0.0.1");
        request.Headers.TryAddWithoutValidation("X-API-Key", "");
        request.Headers.TryAddWithoutValidation("X-Listing-Secret", "caller-supplied");
        using var response = await gateway.Client.SendAsync(request);

        AssertNothingOfTheOperatorsSent(upstream);
    }

    /// <summary>The same case variant with a valid x402 key does carry them: the gate and the route agree on the path.</summary>
    [Fact]
    public async Task AuthenticatedCaseVariant_CarriesTheOperatorsCredentials()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var request = new HttpRequestMessage(HttpMethod.Get, "/DISCOVERY/resources?limit=1");
        request.Headers.Add("X-API-Key", Key);
        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(upstream.Received);
        Assert.Equal(Secret, received.Headers["X-Listing-Secret"]);
        Assert.StartsWith("Bearer ", received.Headers["Authorization"], StringComparison.Ordinal);
    }
}
