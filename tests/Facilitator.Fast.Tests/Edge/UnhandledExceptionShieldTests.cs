using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>
/// The shield's 500 replaces what a failing handler began, but keeps what the edge decided before the handler ran: a
/// browser on an allowed origin can read the error, and the rate limit's headers still describe the request.
/// </summary>
public sealed class UnhandledExceptionShieldTests
{
    private const string Origin = "https://dashboard.example.com";
    private const string ThrowingPath = "/v1/shield/throws-after-setting-headers";

    private static Task<ServiceWithExtraEndpoints> StartAsync(FakeFacilitator upstream)
    {
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Edge:Cors:AllowedOrigins:0"] = Origin;
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:v1:Capacity"] = "10";
        settings["RateLimit:Policies:v1:RefillPerSecond"] = "1";
        return ServiceWithExtraEndpoints.StartAsync(settings, app => app.MapGet(ThrowingPath, (RequestDelegate)(context =>
        {
            context.Response.Headers["X-Half-Made"] = "by the handler";
            context.Response.Headers["Cache-Control"] = "public, max-age=600";
            throw new InvalidOperationException("a secret detail of the failure");
        })));
    }

    [Fact]
    public async Task InvokeAsync_HandlerThrowsForAnAllowedOrigin_500KeepsCorsAndRateLimitHeadersDropsTheHandlers()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var service = await StartAsync(upstream);
        using var request = new HttpRequestMessage(HttpMethod.Get, ThrowingPath);
        request.Headers.Add("Origin", Origin);

        using var response = await service.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("INTERNAL_ERROR", Json(body).GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("secret detail", body, StringComparison.Ordinal);
        Assert.Equal(Origin, Header(response, "Access-Control-Allow-Origin"));
        Assert.Contains("X-Request-Id", Header(response, "Access-Control-Expose-Headers") ?? "", StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("\"v1\";q=10", Header(response, "RateLimit-Policy"), StringComparison.Ordinal);
        Assert.StartsWith("\"v1\";r=9", Header(response, "RateLimit"), StringComparison.Ordinal);
        Assert.NotNull(Header(response, "X-Request-Id"));
        Assert.Null(Header(response, "X-Half-Made"));
        Assert.Null(Header(response, "Cache-Control"));
    }

    [Fact]
    public async Task InvokeAsync_HandlerThrowsForAnotherOrigin_500WithoutCorsHeaders()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var service = await StartAsync(upstream);
        using var request = new HttpRequestMessage(HttpMethod.Get, ThrowingPath);
        request.Headers.Add("Origin", "https://elsewhere.example.com");

        using var response = await service.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
        Assert.NotNull(Header(response, "RateLimit"));
    }
}
