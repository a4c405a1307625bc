using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Request ids, response time, security headers, CORS and JSON error bodies on every answer.</summary>
public sealed class EdgeHeadersTests
{
    [Fact]
    public async Task Answer_SaneIncomingRequestId_KeptAndUsedInErrorBodies()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/facilitator-status?include=bogus");
        request.Headers.Add("X-Request-Id", "req-42.a:b");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal("req-42.a:b", Header(response, "X-Request-Id"));
        Assert.Equal("req-42.a:b", Json(await response.Content.ReadAsStringAsync()).GetProperty("requestId").GetString());
        Assert.EndsWith("ms", Header(response, "X-Response-Time"));
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("<script>")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789")]
    public async Task Answer_InsaneIncomingRequestId_Replaced(string incoming)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.TryAddWithoutValidation("X-Request-Id", incoming);

        using var response = await gateway.Client.SendAsync(request);

        var id = Header(response, "X-Request-Id");
        Assert.NotEqual(incoming, id);
        Assert.Matches("^[0-9a-f]{32}$", id);
    }

    [Theory]
    [InlineData("GET", "/no/such/endpoint", 404, "NOT_FOUND")]
    [InlineData("DELETE", "/verify", 405, "HTTP_405")]
    public async Task Answer_NoHandlerBody_ErrorFormat(string method, string path, int status, string code)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(status, (int)response.StatusCode);
        var json = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, json.GetProperty("error").GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("requestId").GetString()));
    }

    [Fact]
    public async Task Preflight_ConfiguredOrigin_AllowedWithExposedHeaders()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Edge:Cors:AllowedOrigins:0"] = "https://dashboard.example.com";
        await using var gateway = await GatewayHost.StartAsync(settings);
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/verify");
        preflight.Headers.Add("Origin", "https://dashboard.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");

        using var allowed = await gateway.Client.SendAsync(preflight);
        using var actual = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        actual.Headers.Add("Origin", "https://dashboard.example.com");
        using var answer = await gateway.Client.SendAsync(actual);
        using var other = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        other.Headers.Add("Origin", "https://evil.example.com");
        using var refused = await gateway.Client.SendAsync(other);

        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal("https://dashboard.example.com", Header(allowed, "Access-Control-Allow-Origin"));
        Assert.Contains("X-Request-Id", answer.Headers.GetValues("Access-Control-Expose-Headers").Single());
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
