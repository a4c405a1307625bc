using System.Net;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary>The embedded pages' files: served from the binary with a strict CSP and the security headers, without credentials.</summary>
public sealed class PageEndpointsTests
{
    [Theory]
    [InlineData("/dashboard", "text/html", "script-src 'self';")]
    [InlineData("/dashboard/app.js", "text/javascript", "connect-src 'self';")]
    [InlineData("/dashboard/uPlot.iife.min.js", "text/javascript", "default-src 'none';")]
    [InlineData("/docs", "text/html", "script-src 'self';")]
    [InlineData("/docs/swagger-ui-bundle.js", "text/javascript", "frame-ancestors 'none'")]
    public async Task Page_File_ServedWithStrictPolicyAndSecurityHeaders(string path, string contentType, string policyPart)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith(contentType, response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var policy = Header(response, "Content-Security-Policy");
        Assert.Contains(policyPart, policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("script-src 'self' 'unsafe-inline'", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Page_NoInlineScriptAndNothingFromElsewhere()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        foreach (var path in new[] { "/dashboard", "/docs" })
        {
            var html = await gateway.Client.GetStringAsync(path);
            Assert.DoesNotMatch("<script(?![^>]*\\ssrc=)[^>]*>", html);
            Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
            Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
            Assert.DoesNotMatch("\\son[a-z]+\\s*=", html);
            Assert.DoesNotContain("style=", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Page_WithAuthConfigured_FilesServedWithoutCredentialsButNotTheApi()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Auth:ApiKeys:0:Name"] = "operator";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("k")));
        settings["Auth:RequireForX402"] = "true";
        await using var gateway = await GatewayHost.StartAsync(settings);

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/dashboard")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/dashboard/settings.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/docs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/openapi/v1.json")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.GetAsync("/api/facilitator-status")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task Page_Settings_NameTheApiKeyHeaderAndEventPathOnly()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Auth:ApiKeyHeader"] = "X-Operator-Key";
        settings["Dashboard:StatusIntervalMs"] = "2000";
        await using var gateway = await GatewayHost.StartAsync(settings);

        var json = Json(await gateway.Client.GetStringAsync("/dashboard/settings.json"));

        Assert.Equal("X-Operator-Key", json.GetProperty("apiKeyHeader").GetString());
        Assert.Equal("/ws", json.GetProperty("eventsPath").GetString());
        Assert.Equal(2000, json.GetProperty("statusIntervalMs").GetInt32());
    }

    [Fact]
    public async Task Page_UnknownFileOrTraversal_NotFound()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        foreach (var path in new[] { "/dashboard/nope.js", "/dashboard/..%2Fdocs%2Fdocs.js", "/docs/app.js", "/dashboard/index.html.bak" })
        {
            using var response = await gateway.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("NOT_FOUND", Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task Page_SameETag_NotModified()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        using var first = await gateway.Client.GetAsync("/dashboard/app.js");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/dashboard/app.js");
        request.Headers.TryAddWithoutValidation("If-None-Match", first.Headers.ETag!.ToString());

        using var second = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("60001")]
    [InlineData("soon")]
    public async Task Dashboard_BadStatusInterval_RefusedAtStartNamingTheSetting(string value)
    {
        var settings = GatewayHost.Upstreams(("only", "http://127.0.0.1:9"));
        settings["Dashboard:StatusIntervalMs"] = value;

        var refusal = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

        Assert.Contains("Dashboard", refusal.Message, StringComparison.Ordinal);
    }
}
