using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Secure by default: without credentials the service's own APIs answer only callers on this machine unless a setting opens them.</summary>
public sealed class LocalApiAccessTests
{
    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync(bool open = false, bool trustLoopbackProxy = true)
    {
        var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        if (trustLoopbackProxy)
        {
            settings["Edge:TrustedProxies:0"] = "127.0.0.1";
        }

        if (open)
        {
            settings["Auth:OpenApiToNetwork"] = "true";
        }

        return (await GatewayHost.StartAsync(settings), upstream);
    }

    private static async Task<HttpResponseMessage> GetAsync(GatewayHost gateway, string path, string? forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return await gateway.Client.SendAsync(request);
    }

    [Theory]
    [InlineData("203.0.113.9")]
    [InlineData("2001:db8::9")]
    public async Task Api_NoKeysNetworkCaller_403SayingHowToOpen(string client)
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var status = await GetAsync(gateway, "/api/facilitator-status?include=health", client);
        using var action = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/facilitator-status")
        {
            Content = new StringContent("""{"action":"check-health"}"""),
            Headers = { { "X-Forwarded-For", client } },
        });

        Assert.Equal(HttpStatusCode.Forbidden, status.StatusCode);
        var error = Json(await status.Content.ReadAsStringAsync()).GetProperty("error");
        Assert.Equal("HTTP_403", error.GetProperty("code").GetString());
        Assert.Contains("Auth:OpenApiToNetwork=true", error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, action.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("127.0.0.5")]
    [InlineData("::1")]
    public async Task Api_NoKeysLoopbackCaller_Answered(string? client)
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await GetAsync(gateway, "/api/facilitator-status?include=health", client);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Api_OpenedToTheNetwork_NetworkCallerAnswered()
    {
        var (gateway, upstream) = await StartAsync(open: true);
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await GetAsync(gateway, "/api/facilitator-status?include=health", "203.0.113.9");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Api_UntrustedLocalProxyForwardingSomeoneElse_403()
    {
        var (gateway, upstream) = await StartAsync(trustLoopbackProxy: false);
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await GetAsync(gateway, "/api/facilitator-status?include=health", "203.0.113.9");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task HealthAndX402_NetworkCaller_StillAnswered()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var health = await GetAsync(gateway, "/health", "203.0.113.9");
        using var supported = await GetAsync(gateway, "/supported", "203.0.113.9");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, supported.StatusCode);
    }
}
