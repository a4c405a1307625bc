using System.Net;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Forwarded addresses count only from trusted proxies: observed through per-client rate-limit buckets.</summary>
public sealed class TrustedProxyForwardingTests
{
    private static async Task<HttpStatusCode[]> SettleFromAsync(GatewayHost gateway, string header, params string[] forwardedFor)
    {
        var statuses = new List<HttpStatusCode>();
        foreach (var address in forwardedFor)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/settle") { Content = new StringContent(TestPayments.V1, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation(header, address);
            using var response = await gateway.Client.SendAsync(request);
            statuses.Add(response.StatusCode);
        }

        return [.. statuses];
    }

    private static Dictionary<string, string?> Settings(FakeFacilitator upstream, bool trustLoopback, string header = "X-Forwarded-For")
    {
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:settle:Capacity"] = "1";
        settings["RateLimit:Policies:settle:RefillPerSecond"] = "0.001";
        settings["Edge:ForwardedHeader"] = header;

        // A trusted network that is not loopback still installs the middleware, so "untrusted" is really tested.
        settings["Edge:TrustedProxies:0"] = trustLoopback ? "127.0.0.0/8" : "10.0.0.0/8";
        return settings;
    }

    [Theory]
    [InlineData("X-Forwarded-For", "203.0.113.7", "203.0.113.8")]
    [InlineData("Forwarded", "for=203.0.113.7;proto=https", "for=\"[2001:db8::1]:4711\"")]
    public async Task ForwardedHeaders_FromTrustedProxy_EachClientItsOwnBucket(string header, string first, string second)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(upstream, trustLoopback: true, header), new ManualTimeProvider(TestPayments.SignedAt));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], await SettleFromAsync(gateway, header, first, second, first));
    }

    [Fact]
    public async Task ForwardedHeaders_FromUntrustedPeer_IgnoredSoSpoofingDoesNotEscapeTheLimit()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(upstream, trustLoopback: false), new ManualTimeProvider(TestPayments.SignedAt));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests], await SettleFromAsync(gateway, "X-Forwarded-For", "203.0.113.7", "203.0.113.8"));
    }

    [Fact]
    public async Task ForwardedHeader_NotTheConfiguredOne_IgnoredSoAClientCannotChooseItsAddress()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(upstream, trustLoopback: true), new ManualTimeProvider(TestPayments.SignedAt));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests], await SettleFromAsync(gateway, "Forwarded", "for=203.0.113.7", "for=203.0.113.8"));
    }

    [Fact]
    public async Task ForwardedChain_OnlyAsFarAsHopsAreTrusted()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(upstream, trustLoopback: true), new ManualTimeProvider(TestPayments.SignedAt));

        // The client can put anything on the left; the trusted proxy appended the address it saw (198.51.100.9).
        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.TooManyRequests],
            await SettleFromAsync(gateway, "X-Forwarded-For", "1.1.1.1, 198.51.100.9", "2.2.2.2, 198.51.100.9"));
    }

    [Fact]
    public async Task Start_InvalidTrustedProxy_RefusedNamingTheSetting()
    {
        var settings = GatewayHost.Upstreams(("only", "http://127.0.0.1:9"));
        settings["Edge:TrustedProxies:0"] = "not-an-address";

        var ex = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

        Assert.Contains("Edge:TrustedProxies:0", ex.Message);
    }
}
