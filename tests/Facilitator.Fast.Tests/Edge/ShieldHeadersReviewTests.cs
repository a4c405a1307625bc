using System.Net;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>
/// Review of the shield keeping the edge's CORS and rate-limit headers on its 500 (commit 73b0aa8): the kept headers
/// are read when the exception is caught, so whatever a failing handler put under those names is what is kept; the
/// x402 500 shape with the edge headers; and a failure after the answer started.
/// </summary>
public sealed class ShieldHeadersReviewTests
{
    private const string Origin = "https://dashboard.example.com";
    private const string Elsewhere = "https://evil.example.net";
    private const string ThrowingPath = "/v1/review/throws";
    private const string StartedPath = "/v1/review/throws-after-starting";

    private static Task<ServiceWithExtraEndpoints> StartAsync(FakeFacilitator upstream)
    {
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Edge:Cors:AllowedOrigins:0"] = Origin;
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:v1:Capacity"] = "10";
        settings["RateLimit:Policies:v1:RefillPerSecond"] = "1";
        return ServiceWithExtraEndpoints.StartAsync(settings, app =>
        {
            // A handler that, before failing, sets headers under the names the shield keeps: a CORS answer of its own
            // (any origin, with credentials), a Vary, and rate-limit values of its own.
            app.MapGet(ThrowingPath, (RequestDelegate)(context =>
            {
                context.Response.Headers["Access-Control-Allow-Origin"] = "*";
                context.Response.Headers["Access-Control-Allow-Credentials"] = "true";
                context.Response.Headers["Access-Control-Expose-Headers"] = "X-Internal-Debug";
                context.Response.Headers["Vary"] = "Cookie";
                context.Response.Headers["RateLimit"] = "\"handler\";r=999;t=0";
                context.Response.Headers["RateLimit-Policy"] = "\"handler\";q=999;w=1";
                throw new InvalidOperationException("handler failed: password=hunter2");
            }));
            app.MapGet(StartedPath, (RequestDelegate)(async context =>
            {
                context.Response.ContentLength = 100;
                await context.Response.WriteAsync("0123456789");
                await context.Response.Body.FlushAsync();
                throw new InvalidOperationException("failed after the answer started");
            }));

            // /verify and /settle themselves failing after the edge ran (a middleware at the end of the pipeline: past
            // CORS, the gate and the limiter, right before the endpoint).
            app.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments("/settle") || context.Request.Path.StartsWithSegments("/verify"))
                {
                    context.Response.Headers["X-Half-Made"] = "by the handler";
                    throw new InvalidOperationException("settle failed: api key sk_live_123");
                }

                await next(context);
            });
        });
    }

    [Fact]
    public async Task InvokeAsync_HandlerSetsCorsForDisallowedOriginThenThrows_500CarriesNoCorsHeaders()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var service = await StartAsync(upstream);
        using var request = new HttpRequestMessage(HttpMethod.Get, ThrowingPath);
        request.Headers.Add("Origin", Elsewhere);

        using var response = await service.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        // The edge refuses this origin (the existing test shows no ACAO when the handler sets none): whatever the
        // handler set is, by the shield's own contract, dropped.
        Assert.Null(Header(response, "Access-Control-Allow-Origin"));
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
        Assert.Null(Header(response, "Access-Control-Expose-Headers"));
    }

    [Fact]
    public async Task InvokeAsync_HandlerOverwritesRateLimitAndVaryThenThrows_500CarriesTheLimitersValues()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var service = await StartAsync(upstream);
        using var request = new HttpRequestMessage(HttpMethod.Get, ThrowingPath);

        using var response = await service.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.StartsWith("\"v1\";q=10", Header(response, "RateLimit-Policy"), StringComparison.Ordinal);
        Assert.StartsWith("\"v1\";r=9", Header(response, "RateLimit"), StringComparison.Ordinal);
        Assert.Null(Header(response, "Vary"));
    }

    [Fact]
    public async Task InvokeAsync_HandlerThrows_500KeepsEveryRateLimitHeaderTheLimiterSet()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var service = await StartAsync(upstream);

        using var ok = await service.Client.GetAsync("/v1/status");
        Assert.NotNull(Header(ok, "X-RateLimit-Remaining")); // what the limiter puts on every answer
        using var failed = await service.Client.GetAsync(ThrowingPath);

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.NotNull(Header(failed, "RateLimit"));
        Assert.NotNull(Header(failed, "X-RateLimit-Limit"));
        Assert.NotNull(Header(failed, "X-RateLimit-Remaining"));
        Assert.NotNull(Header(failed, "X-RateLimit-Reset"));
    }

    [Fact]
    public async Task InvokeAsync_HandlerThrowsWithASecret_NeitherBodyNorHeadersCarryIt()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var service = await StartAsync(upstream);
        using var request = new HttpRequestMessage(HttpMethod.Get, ThrowingPath);
        request.Headers.Add("Origin", Origin);

        using var response = await service.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("INTERNAL_ERROR", Json(body).GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("hunter2", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            Assert.DoesNotContain(header.Value, v => v.Contains("hunter2", StringComparison.Ordinal) || v.Contains("X-Internal-Debug", StringComparison.Ordinal));
        }

        // For the allowed origin the edge's own CORS answer wins over the handler's "*".
        Assert.Equal(Origin, Header(response, "Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("/settle", "unexpected_settle_error", "success")]
    [InlineData("/verify", "unexpected_verify_error", "isValid")]
    public async Task InvokeAsync_PaymentEndpointThrowsForAllowedOrigin_X402ShapedWithCorsAndRateLimit(string path, string reason, string verdict)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var service = await StartAsync(upstream);
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(PaymentSigner.ValidNow(1, seed: 41), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Origin", Origin);

        using var response = await service.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var json = Json(body);
        Assert.False(json.GetProperty(verdict).GetBoolean());
        Assert.Contains(reason, body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("sk_live_123", body, StringComparison.Ordinal);
        Assert.Equal(Origin, Header(response, "Access-Control-Allow-Origin"));
        Assert.NotNull(Header(response, "RateLimit"));
        Assert.Null(Header(response, "X-Half-Made"));
        Assert.Equal(0, upstream.CountOf(path));
    }

    [Fact]
    public async Task InvokeAsync_HandlerThrowsAfterTheAnswerStarted_ClientSeesATruncatedAnswerNotASuccess()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var service = await StartAsync(upstream);

        // The 200's headers are out; the shield cannot replace them, and the connection must be cut (the declared
        // 100 bytes never arrive) rather than the answer passing for complete.
        var failed = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            using var response = await service.Client.GetAsync(StartedPath);
            await response.Content.ReadAsByteArrayAsync();
        });
        Assert.True(failed is HttpRequestException or IOException, failed.ToString());

        // The service still answers afterwards.
        using var health = await service.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    /// <summary>
    /// Why the kept CORS values can only be a handler's: ASP.NET Core's CORS middleware writes its answer when the
    /// response starts (an OnStarting callback, which survives the shield's Clear), not before the handler runs. A
    /// handler on an allowed origin sees no Access-Control-Allow-Origin yet.
    /// </summary>
    [Fact]
    public async Task Handler_AllowedOrigin_SeesNoCorsHeaderYetSoTheShieldKeepsOnlyTheHandlersValues()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Edge:Cors:AllowedOrigins:0"] = Origin;
        await using var service = await ServiceWithExtraEndpoints.StartAsync(settings, app => app.MapGet("/v1/review/peek", (RequestDelegate)(context =>
        {
            var seen = context.Response.Headers["Access-Control-Allow-Origin"].ToString();
            return context.Response.WriteAsync(seen.Length == 0 ? "none" : seen);
        })));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/review/peek");
        request.Headers.Add("Origin", Origin);

        using var response = await service.Client.SendAsync(request);

        Assert.Equal("none", await response.Content.ReadAsStringAsync());
        Assert.Equal(Origin, Header(response, "Access-Control-Allow-Origin"));
    }
}
