using System.Net;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>API keys and JWT bearer tokens per route group: 401 for missing or invalid credentials, 403 for the wrong group.</summary>
public sealed class AuthenticationTests
{
    private const string ApiKey = "ff_live_6b1d0c9e2f";
    private const string Secret = "a-shared-hs256-secret-of-at-least-32-bytes!";
    private static readonly ECDsa EcKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Auth:ApiKeys:0:Name"] = "merchant-a";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey)));
        settings["Auth:ApiKeys:1:Name"] = "x402-only";
        settings["Auth:ApiKeys:1:Sha256"] = Convert.ToHexStringLower(SHA256.HashData("x402-only-key"u8));
        settings["Auth:ApiKeys:1:Groups:0"] = "x402";
        settings["Auth:Jwt:HmacSecret"] = Secret;
        settings["Auth:Jwt:Es256PublicKeyPem"] = EcKey.ExportSubjectPublicKeyInfoPem();
        settings["Auth:Jwt:Issuer"] = "https://issuer.example.com";
        settings["Auth:Jwt:Audience"] = "facilitator";
        configure?.Invoke(settings);
        return (await GatewayHost.StartAsync(settings), upstream);
    }

    private static string Token(SigningCredentials credentials, string issuer = "https://issuer.example.com", string audience = "facilitator", DateTime? expires = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sub", "dashboard")]),
            NotBefore = (expires ?? DateTime.UtcNow.AddMinutes(5)).AddMinutes(-10),
            Expires = expires ?? DateTime.UtcNow.AddHours(2),
            IssuedAt = (expires ?? DateTime.UtcNow.AddMinutes(5)).AddMinutes(-10),
            SigningCredentials = credentials,
        });

    private static SigningCredentials Hs256 => new(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256);

    private static async Task<HttpResponseMessage> GetStatusAsync(GatewayHost gateway, string? header = null, string? value = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/facilitator-status?include=health");
        if (header is not null)
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        return await gateway.Client.SendAsync(request);
    }

    [Fact]
    public async Task Api_ValidApiKey_Allowed()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await GetStatusAsync(gateway, "X-API-Key", ApiKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(null, null, "Authentication is required")]
    [InlineData("X-API-Key", "wrong-key", "API key is not valid")]
    [InlineData("X-Payment", "eyJ4NDAyVmVyc2lvbiI6MX0=", "Authentication is required")]
    [InlineData("Authorization", "Basic dXNlcjpwYXNz", "not a bearer token")]
    public async Task Api_MissingOrInvalidCredentials_401SayingWhichWithoutSecrets(string? header, string? value, string says)
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await GetStatusAsync(gateway, header, value);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        var error = Json(body).GetProperty("error");
        Assert.Equal("HTTP_401", error.GetProperty("code").GetString());
        Assert.Contains(says, error.GetProperty("message").GetString());
        Assert.DoesNotContain(ApiKey, body);
        Assert.DoesNotContain(Secret, body);
        Assert.Equal("Bearer", Header(response, "WWW-Authenticate"));
    }

    [Fact]
    public async Task Api_KeyForAnotherGroup_403()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await GetStatusAsync(gateway, "X-API-Key", "x402-only-key");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("HTTP_403", Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Jwt_Hs256AndEs256Valid_Allowed()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var hs = await GetStatusAsync(gateway, "Authorization", "Bearer " + Token(Hs256));
        using var es = await GetStatusAsync(gateway, "Authorization", "Bearer " + Token(new SigningCredentials(new ECDsaSecurityKey(EcKey), SecurityAlgorithms.EcdsaSha256)));

        Assert.Equal(HttpStatusCode.OK, hs.StatusCode);
        Assert.Equal(HttpStatusCode.OK, es.StatusCode);
    }

    public static TheoryData<string, string> BadTokens() => new()
    {
        { Token(Hs256, expires: DateTime.UtcNow.AddMinutes(-5)), "expired" },
        { Token(Hs256, issuer: "https://evil.example.com"), "issuer" },
        { Token(Hs256, audience: "someone-else"), "audience" },
        { Token(new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)), SecurityAlgorithms.HmacSha256)), "signature" },
        { Token(new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret + Secret)), SecurityAlgorithms.HmacSha512)), "not valid" },
        { NoneToken(), "not valid" },
        { "not.a.jwt", "not valid" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Jwt_Invalid_401(string token, string says)
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await GetStatusAsync(gateway, "Authorization", "Bearer " + token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains(says, Json(await response.Content.ReadAsStringAsync()).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Defaults_HealthAndX402Open_ApiClosed()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.PostAsync("/verify", SignedPayments.V1)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.GetAsync("/api/facilitator-status")).StatusCode);
    }

    [Fact]
    public async Task X402_RequiredBySetting_401WithoutCredentialsAndAllowedWithThem()
    {
        var (gateway, upstream) = await StartAsync(s => s["Auth:RequireForX402"] = "true");
        await using var _ = gateway;
        await using var __ = upstream;

        using var anonymous = await gateway.PostAsync("/verify", SignedPayments.V1);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/verify") { Content = new StringContent(SignedPayments.V1, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-API-Key", "x402-only-key");
        using var keyed = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
        Assert.Equal(1, upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task Start_ShortHmacSecret_RefusedNamingTheSetting()
    {
        var ex = await Assert.ThrowsAsync<InvalidSettingException>(() => StartAsync(s => s["Auth:Jwt:HmacSecret"] = "short"));

        Assert.Contains("Auth:Jwt:HmacSecret", ex.Message);
        Assert.DoesNotContain("short", ex.Message);
    }

    [Theory]
    [InlineData("Auth:Jwt:Issuer")]
    [InlineData("Auth:Jwt:Audience")]
    public async Task Start_JwtWithoutIssuerOrAudience_Refused(string missing)
    {
        var ex = await Assert.ThrowsAsync<InvalidSettingException>(() => StartAsync(s => s[missing] = ""));

        Assert.Contains("Auth:Jwt:Issuer and Auth:Jwt:Audience", ex.Message);
    }

    private static string NoneToken()
    {
        static string Encode(string json) => Base64UrlEncoder.Encode(json);
        var expires = DateTimeOffset.UtcNow.AddHours(2).ToUnixTimeSeconds();
        return Encode("""{"alg":"none","typ":"JWT"}""") + "." + Encode($$"""{"iss":"https://issuer.example.com","aud":"facilitator","exp":{{expires}},"sub":"x"}""") + ".";
    }
}
