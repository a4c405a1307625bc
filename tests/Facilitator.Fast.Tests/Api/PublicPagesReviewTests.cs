using System.Net;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary>
/// The public files (<c>/dashboard</c>, <c>/docs</c>, <c>/openapi/v1.json</c>) and <c>/metrics</c> attacked as a stranger
/// and as the holder of a key limited to another route group: no secret in any answer, no way around the gate through the
/// files' exemption, a strict policy on every page answer, clean 4xx for what is not there or not allowed.
/// </summary>
public sealed class PublicPagesReviewTests(ITestOutputHelper output)
{
    private const string OperatorKey = "operator-key-9f8e7d6c5b4a39281706";
    private const string X402Key = "x402-only-key-1a2b3c4d5e6f7a8b9c0d";
    private const string V1Key = "v1-only-key-0f1e2d3c4b5a69788796";
    private const string JwtSecret = "jwt-hmac-secret-that-is-long-enough-0123456789abcdef";
    private const string HeaderSecret = "upstr3am-h3ader-s3cret-value";
    private const string UrlToken = "upstr3am-path-t0ken";
    private static readonly string CdpSecret = CdpTestKey.Ed25519().Secret;

    private static readonly string[] Secrets = [OperatorKey, X402Key, V1Key, JwtSecret, HeaderSecret, UrlToken, CdpSecret];

    /// <summary>Requests aimed at a protected route through the public files' paths, each spelled so that a gate
    /// matching on the raw path, and a router matching on a normalised one, could disagree.</summary>
    public static TheoryData<string> TrickPaths => new()
    {
        "/dashboard/../api/facilitator-status",
        "/dashboard/%2e%2e/api/facilitator-status",
        "/dashboard/..%2Fapi%2Ffacilitator-status",
        "/dashboard%2F..%2Fapi%2Ffacilitator-status",
        "/dashboard%2f..%2fv1/payments",
        "/dashboard/..%2f..%2fmetrics",
        "/docs/../metrics",
        "/docs/%2e%2e/metrics",
        "/docs/..;/metrics",
        "//metrics",
        "/./metrics",
        "/METRICS",
        "/Metrics/",
        "/metrics?file=/dashboard/app.js",
        "/metrics;/dashboard",
        "/openapi/../metrics",
        "/openapi/v1.json/../../api/facilitator-status",
        "/dashboard/app.js/../../api/facilitator-status",
        "/api/facilitator-status?x=/dashboard",
        "/API/Facilitator-Status",
        "/api//facilitator-status",
        "/v1/../api/facilitator-status",
        "/dashboard/settings.json/../../metrics",
        "/dashboard/%2E%2E/%2E%2E/metrics",
    };

    [Theory]
    [MemberData(nameof(TrickPaths))]
    public async Task Review_ProtectedRouteThroughPublicPath_NeverAnsweredWithoutCredentials(string path)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(SecuredSettings(upstream.Url));
        var server = new Uri(gateway.Client.BaseAddress!.ToString());

        foreach (var (credential, label) in new[] { ((string?)null, "stranger"), (X402Key, "x402 key"), (V1Key, "v1 key") })
        {
            var head = $"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\n" + (credential is null ? "" : $"X-API-Key: {credential}\r\n");
            var answer = await RawHttp.SendAsync(server, head);
            output.WriteLine($"{label} {path} -> {answer.Status}");

            Assert.InRange(answer.Status, 400, 499);
            AssertNoProtectedData(answer.Body, $"{label} {path}");
        }
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    [InlineData("POST")]
    [InlineData("OPTIONS")]
    public async Task Review_MetricsWithKeyOfAnotherGroup_RefusedWhateverTheMethod(string method)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(SecuredSettings(upstream.Url));
        var server = new Uri(gateway.Client.BaseAddress!.ToString());

        foreach (var credential in new string?[] { null, X402Key, V1Key, "not-a-key", "Bearer " + JwtSecret })
        {
            var header = credential switch
            {
                null => "",
                _ when credential.StartsWith("Bearer ", StringComparison.Ordinal) => $"Authorization: {credential}\r\n",
                _ => $"X-API-Key: {credential}\r\n",
            };
            var answer = await RawHttp.SendAsync(server, $"{method} /metrics HTTP/1.1\r\nHost: {server.Authority}\r\n{header}Content-Length: 0\r\n");

            Assert.InRange(answer.Status, 400, 499);
            AssertNoProtectedData(answer.Body, $"{method} /metrics with {credential ?? "nothing"}");
        }

        var allowed = await RawHttp.SendAsync(server, $"GET /metrics HTTP/1.1\r\nHost: {server.Authority}\r\nX-API-Key: {OperatorKey}\r\n");
        Assert.Equal(200, allowed.Status);
    }

    [Fact]
    public async Task Review_EveryPublicAnswerAndMetrics_CarryNoSecret()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, $$"""{"isValid":true,"payer":"{{SignedPayments.Payer}}"}""");
        await using var gateway = await GatewayHost.StartAsync(SecuredSettings(upstream.Url));
        using (var verify = new HttpRequestMessage(HttpMethod.Post, "/verify"))
        {
            verify.Content = new StringContent(SignedPayments.V2, Encoding.UTF8, "application/json");
            verify.Headers.Add("X-API-Key", OperatorKey);
            using var verified = await gateway.Client.SendAsync(verify);
        }

        var pages = gateway.Services.GetRequiredService<Facilitator.Fast.Dashboard.EmbeddedPages>();
        var paths = pages.Names.Select(name => "/" + name).Concat(["/dashboard", "/docs", "/dashboard/settings.json", "/openapi/v1.json"]).ToList();
        foreach (var path in paths)
        {
            using var response = await gateway.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            AssertNoSecret(response.Headers + "\n" + response.Content.Headers + "\n" + await response.Content.ReadAsStringAsync(), path);
        }

        var openApi = await gateway.Client.GetStringAsync("/openapi/v1.json");
        Assert.DoesNotContain(new Uri(upstream.Url).Authority, openApi, StringComparison.Ordinal);

        using var scrape = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        scrape.Headers.Add("X-API-Key", OperatorKey);
        string metrics = "";
        await Eventually.TrueAsync(async () =>
        {
            using var scraped = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { { "X-API-Key", OperatorKey } } });
            metrics = await scraped.Content.ReadAsStringAsync();
            return metrics.Contains("facilitator_upstream_attempts_total", StringComparison.Ordinal);
        }, "the verify is in the scrape");
        AssertNoSecret(metrics, "/metrics");
        Assert.DoesNotContain(new Uri(upstream.Url).Authority, metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("operator", metrics.Replace("facilitator", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("/dashboard/nope.js")]
    [InlineData("/dashboard/..%2F..%2Fappsettings.json")]
    [InlineData("/dashboard/..%5Cdocs%5Cindex.html")]
    [InlineData("/dashboard/APP.JS")]
    [InlineData("/dashboard/app.js.")]
    [InlineData("/dashboard/%2fetc%2fpasswd")]
    [InlineData("/dashboard/docs.js")]
    [InlineData("/docs/settings.json")]
    [InlineData("/docs/app.js")]
    [InlineData("/docs/Facilitator.Fast.dll")]
    public async Task Review_UnknownFileUnderAPage_NotFoundInTheErrorShape(string path)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(SecuredSettings(upstream.Url));
        var server = new Uri(gateway.Client.BaseAddress!.ToString());

        var answer = await RawHttp.SendAsync(server, $"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\n");

        Assert.Equal(404, answer.Status);
        Assert.Equal("NOT_FOUND", Json(answer.Body).GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("X-Content-Type-Options: nosniff", answer.Head, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("/dashboard/a/b.js")]
    [InlineData("/dashboard/./../dashboard/x/app.js")]
    [InlineData("/docs/dist/swagger-ui.css")]
    public async Task Review_NestedPathUnderAPage_NotFoundWithoutAnyFileOrListing(string path)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(SecuredSettings(upstream.Url));
        var server = new Uri(gateway.Client.BaseAddress!.ToString());

        var answer = await RawHttp.SendAsync(server, $"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\n");

        output.WriteLine($"{path} -> {answer.Status} [{answer.Body}]");
        Assert.Equal(404, answer.Status);
        Assert.DoesNotContain("<html", answer.Body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("function", answer.Body, StringComparison.Ordinal);
        Assert.Equal("NOT_FOUND", Json(answer.Body).GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("/dashboard")]
    [InlineData("/dashboard/")]
    [InlineData("/DASHBOARD")]
    [InlineData("/dashboard/index.html")]
    [InlineData("/dashboard/settings.json")]
    [InlineData("/dashboard/style.css")]
    [InlineData("/dashboard/uPlot.min.css")]
    [InlineData("/docs")]
    [InlineData("/docs/")]
    [InlineData("/docs/index.html")]
    [InlineData("/docs/docs.js")]
    [InlineData("/docs/swagger-ui.css")]
    public async Task Review_PageAnswer_StrictPolicyAndSecurityHeaders(string path)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(SecuredSettings(upstream.Url));

        using var response = await gateway.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var policy = Header(response, "Content-Security-Policy")!;
        var directives = policy.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("default-src 'none'", directives);
        Assert.Contains("script-src 'self'", directives);
        Assert.Contains("connect-src 'self'", directives);
        Assert.Contains("frame-ancestors 'none'", directives);
        Assert.Contains("base-uri 'none'", directives);
        Assert.Contains("form-action 'none'", directives);
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        Assert.NotEqual("application/octet-stream", response.Content.Headers.ContentType!.MediaType);

        using var again = new HttpRequestMessage(HttpMethod.Get, path);
        again.Headers.TryAddWithoutValidation("If-None-Match", response.Headers.ETag!.ToString());
        using var notModified = await gateway.Client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(policy, Header(notModified, "Content-Security-Policy"));
    }

    [Theory]
    [InlineData("POST", "/dashboard")]
    [InlineData("PUT", "/dashboard/app.js")]
    [InlineData("DELETE", "/dashboard/settings.json")]
    [InlineData("PATCH", "/docs")]
    [InlineData("POST", "/openapi/v1.json")]
    [InlineData("OPTIONS", "/openapi/v1.json")]
    [InlineData("OPTIONS", "/dashboard")]
    [InlineData("TRACE", "/dashboard")]
    [InlineData("PROPFIND", "/dashboard/")]
    [InlineData("GET", "/openapi/v2.json")]
    [InlineData("GET", "/openapi/..json")]
    [InlineData("GET", "/openapi/%00.json")]
    [InlineData("GET", "/dashboard/app.js%00")]
    [InlineData("GET", "/openapi/v1.json%2F..%2F..%2Fmetrics")]
    [InlineData("GET", "/openapi/v1.yaml")]
    [InlineData("GET", "/openapi/" + "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" + ".json")]
    public async Task Review_BadMethodOrDocument_ClientErrorNeverServerError(string method, string path)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(SecuredSettings(upstream.Url));
        var server = new Uri(gateway.Client.BaseAddress!.ToString());

        var answer = await RawHttp.SendAsync(server, $"{method} {path} HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Length: 0\r\n");

        Assert.InRange(answer.Status, 400, 499);
        Assert.DoesNotContain("<html", answer.Body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Review_PagesAndDocument_RateLimitedPerAddress()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = SecuredSettings(upstream.Url);
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:supported:Capacity"] = "3";
        settings["RateLimit:Policies:supported:RefillPerSecond"] = "0.01";
        await using var gateway = await GatewayHost.StartAsync(settings);

        foreach (var path in new[] { "/openapi/v1.json", "/dashboard/app.js" })
        {
            var statuses = new List<HttpStatusCode>();
            for (var i = 0; i < 6; i++)
            {
                using var response = await gateway.Client.GetAsync(path);
                statuses.Add(response.StatusCode);
            }

            Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        }
    }

    [Fact]
    public async Task Review_HostHeaderOfTheCaller_NotWrittenIntoTheDocumentAsItsServer()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(SecuredSettings(upstream.Url));
        var server = new Uri(gateway.Client.BaseAddress!.ToString());

        var answer = await RawHttp.SendAsync(server, $"GET /openapi/v1.json HTTP/1.1\r\nHost: attacker.example\r\nX-Forwarded-Host: attacker2.example\r\n");

        Assert.Equal(200, answer.Status);
        output.WriteLine(answer.Body[..Math.Min(600, answer.Body.Length)]);
        Assert.DoesNotContain("attacker2.example", answer.Body, StringComparison.Ordinal);
    }

    /// <remarks>
    /// Measured: an 87 KB document allocates about 10 MB per request (the Swagger UI bundle, 1.4 MB, allocates 25 KB),
    /// because Microsoft.AspNetCore.OpenApi builds the whole document, schemas and transformers included, on every GET.
    /// The path is public and limited only by the <c>supported</c> policy (1000 per second per address).
    /// </remarks>
    [Fact]
    public async Task Review_OpenApiDocument_CostPerRequestBounded()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(SecuredSettings(upstream.Url));
        var size = (await gateway.Client.GetByteArrayAsync("/openapi/v1.json")).Length;
        for (var i = 0; i < 5; i++)
        {
            await gateway.Client.GetByteArrayAsync("/openapi/v1.json");
            await gateway.Client.GetByteArrayAsync("/docs/swagger-ui-bundle.js");
        }

        var document = await AllocatedPerRequestAsync(gateway, "/openapi/v1.json");
        var bundle = await AllocatedPerRequestAsync(gateway, "/docs/swagger-ui-bundle.js");
        output.WriteLine($"document {size} bytes; allocated per request: document {document}, swagger bundle {bundle}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 50; i++)
        {
            await gateway.Client.GetByteArrayAsync("/openapi/v1.json");
        }

        output.WriteLine($"50 sequential documents: {clock.ElapsedMilliseconds} ms (information only)");

        Assert.True(document < 4L * size + 256 * 1024, $"each /openapi/v1.json allocates {document} bytes for a {size}-byte document");
    }

    private static async Task<long> AllocatedPerRequestAsync(GatewayHost gateway, string path)
    {
        const int Requests = 20;
        var fewest = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < Requests; i++)
            {
                using var response = await gateway.Client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
                await response.Content.CopyToAsync(Stream.Null);
            }

            fewest = Math.Min(fewest, (GC.GetTotalAllocatedBytes(precise: true) - before) / Requests);
        }

        return fewest;
    }

    private static Dictionary<string, string?> SecuredSettings(string upstreamUrl)
    {
        var authority = new Uri(upstreamUrl);
        var settings = GatewayHost.Upstreams(("secured", $"http://{authority.Authority}/key/{UrlToken}/"));
        settings["Upstreams:0:Headers:*:X-Upstream-Secret"] = HeaderSecret;
        settings["Auth:ApiKeys:0:Name"] = "operator";
        settings["Auth:ApiKeys:0:Sha256"] = Hash(OperatorKey);
        settings["Auth:ApiKeys:1:Name"] = "x402-client";
        settings["Auth:ApiKeys:1:Sha256"] = Hash(X402Key);
        settings["Auth:ApiKeys:1:Groups:0"] = "x402";
        settings["Auth:ApiKeys:2:Name"] = "v1-client";
        settings["Auth:ApiKeys:2:Sha256"] = Hash(V1Key);
        settings["Auth:ApiKeys:2:Groups:0"] = "v1";
        settings["Auth:Jwt:HmacSecret"] = JwtSecret;
        settings["Auth:Jwt:Issuer"] = "https://issuer.example.com";
        settings["Auth:Jwt:Audience"] = "facilitator";
        settings["CDP_API_KEY_ID"] = "organizations/abc/apiKeys/key-id-5a4b";
        settings["CDP_API_KEY_SECRET"] = CdpSecret;
        return settings;
    }

    private static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static void AssertNoSecret(string text, string where)
    {
        foreach (var secret in Secrets)
        {
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{where} shows a secret ({secret[..6]}…)");
            Assert.False(text.Contains(Hash(secret), StringComparison.OrdinalIgnoreCase), $"{where} shows a secret's hash ({secret[..6]}…)");
        }
    }

    private static void AssertNoProtectedData(string body, string where)
    {
        Assert.False(body.Contains("# TYPE", StringComparison.Ordinal), $"{where} answered a metrics scrape");
        Assert.False(body.Contains("facilitator_", StringComparison.Ordinal), $"{where} answered metrics");
        Assert.False(body.Contains("\"facilitators\"", StringComparison.Ordinal), $"{where} answered the status");
        Assert.False(body.Contains("\"uptime", StringComparison.OrdinalIgnoreCase), $"{where} answered the status");
        AssertNoSecret(body, where);
    }
}
