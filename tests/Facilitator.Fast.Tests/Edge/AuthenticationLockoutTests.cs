using System.Net;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>
/// Lock-outs that fit: failed authentication counted per credential and per address, a valid credential never refused
/// for others' failures, nothing counted or checked where no credential is needed, and x402-shaped 429s on payments.
/// </summary>
public sealed class AuthenticationLockoutTests
{
    private const string ValidKey = "ff_live_valid_key_9c1e";

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync(bool withKey, Action<Dictionary<string, string?>>? configure = null)
    {
        var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        settings["Edge:TrustedProxies:0"] = "127.0.0.1";
        if (withKey)
        {
            settings["Auth:ApiKeys:0:Name"] = "merchant";
            settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ValidKey)));
        }

        configure?.Invoke(settings);
        return (await GatewayHost.StartAsync(settings, new ManualTimeProvider(TestPayments.SignedAt)), upstream);
    }

    private static async Task<HttpResponseMessage> SendAsync(
        GatewayHost gateway, HttpMethod method, string path, string? header = null, string? value = null, string? from = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Post)
        {
            request.Content = new StringContent(TestPayments.V1, Encoding.UTF8, "application/json");
        }

        if (header is not null)
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        if (from is not null)
        {
            request.Headers.Add("X-Forwarded-For", from);
        }

        return await gateway.Client.SendAsync(request);
    }

    [Fact]
    public async Task Api_WrongKeysFloodFromOneAddress_AddressSlowedButValidKeyPasses()
    {
        var (gateway, upstream) = await StartAsync(withKey: true);
        await using var _ = gateway;
        await using var __ = upstream;

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 25; i++)
        {
            using var wrong = await SendAsync(gateway, HttpMethod.Get, "/api/facilitator-status?include=health", "X-API-Key", $"guess-{i}", "198.51.100.7");
            statuses.Add(wrong.StatusCode);
        }

        using var valid = await SendAsync(gateway, HttpMethod.Get, "/api/facilitator-status?include=health", "X-API-Key", ValidKey, "198.51.100.7");
        using var otherAddress = await SendAsync(gateway, HttpMethod.Get, "/api/facilitator-status?include=health", "X-API-Key", "guess-x", "198.51.100.8");

        Assert.Equal(20, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, otherAddress.StatusCode);
    }

    [Fact]
    public async Task Api_OneWrongKeyFromManyAddresses_LimitedPerCredential()
    {
        var (gateway, upstream) = await StartAsync(withKey: true);
        await using var _ = gateway;
        await using var __ = upstream;

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 22; i++)
        {
            using var wrong = await SendAsync(gateway, HttpMethod.Get, "/api/facilitator-status?include=health", "X-API-Key", "the-same-guess", $"203.0.113.{i + 1}");
            statuses.Add(wrong.StatusCode);
        }

        using var fresh = await SendAsync(gateway, HttpMethod.Get, "/api/facilitator-status?include=health", "X-API-Key", "another-guess", "203.0.113.200");
        Assert.Equal(20, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal([HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses[20..]);
        Assert.Equal(HttpStatusCode.Unauthorized, fresh.StatusCode);
    }

    [Fact]
    public async Task X402_NoAuthenticationConfigured_BearerHeadersNeitherCheckedNorCounted()
    {
        var (gateway, upstream) = await StartAsync(withKey: false);
        await using var _ = gateway;
        await using var __ = upstream;

        for (var i = 0; i < 40; i++)
        {
            using var response = await SendAsync(gateway, HttpMethod.Post, "/verify", "Authorization", $"Bearer cdp-style.{i}.token");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(40, upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task X402_OpenRouteWithKeysConfigured_UnneededCredentialsIgnored()
    {
        var (gateway, upstream) = await StartAsync(withKey: true);
        await using var _ = gateway;
        await using var __ = upstream;

        for (var i = 0; i < 30; i++)
        {
            using var response = await SendAsync(gateway, HttpMethod.Post, "/verify", i % 2 == 0 ? "Authorization" : "X-API-Key", $"Bearer foreign-{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var api = await SendAsync(gateway, HttpMethod.Get, "/api/facilitator-status?include=health", "X-API-Key", ValidKey);
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
    }

    [Fact]
    public async Task Verify_RequiredKeyWrongThenLockedOut_401And429InTheX402Shape()
    {
        var (gateway, upstream) = await StartAsync(withKey: true, s => s["Auth:RequireForX402"] = "true");
        await using var _ = gateway;
        await using var __ = upstream;

        using var missing = await SendAsync(gateway, HttpMethod.Post, "/verify");
        for (var i = 0; i < 20; i++)
        {
            (await SendAsync(gateway, HttpMethod.Post, "/verify", "X-API-Key", $"guess-{i}")).Dispose();
        }

        using var locked = await SendAsync(gateway, HttpMethod.Post, "/settle", "X-API-Key", "guess-21");
        using var valid = await SendAsync(gateway, HttpMethod.Post, "/verify", "X-API-Key", ValidKey);

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        var unauthorized = Json(await missing.Content.ReadAsStringAsync());
        Assert.False(unauthorized.GetProperty("isValid").GetBoolean());
        Assert.Equal("unexpected_verify_error", unauthorized.GetProperty("invalidReason").GetString());
        Assert.Contains("Authentication is required", unauthorized.GetProperty("invalidMessage").GetString());
        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.NotNull(Header(locked, "Retry-After"));
        var refused = Json(await locked.Content.ReadAsStringAsync());
        Assert.False(refused.GetProperty("success").GetBoolean());
        Assert.Equal("unexpected_settle_error", refused.GetProperty("errorReason").GetString());
        Assert.StartsWith("Rate limited", refused.GetProperty("errorMessage").GetString());
        Assert.Equal("", refused.GetProperty("transaction").GetString());
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.Contains("\"isValid\":true", await valid.Content.ReadAsStringAsync());
    }
}
