using System.Net;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Credentials that are ambiguous or not understood: refused with 401, never half-read; keys that cannot verify ES256 stop the start.</summary>
public sealed class AuthenticationHeaderTests
{
    private const string Secret = "a-shared-hs256-secret-of-at-least-32-bytes!";

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Auth:Jwt:HmacSecret"] = Secret;
        settings["Auth:Jwt:Issuer"] = "https://issuer.example.com";
        settings["Auth:Jwt:Audience"] = "facilitator";
        configure?.Invoke(settings);
        return (await GatewayHost.StartAsync(settings), upstream);
    }

    /// <summary>An HS256 token signed with the configured secret, with <paramref name="extraHeader"/> members in its header.</summary>
    private static string Token(string extraHeader = "")
    {
        var expires = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        var header = Base64UrlEncoder.Encode("{\"alg\":\"HS256\",\"typ\":\"JWT\"" + extraHeader + "}");
        var claims = Base64UrlEncoder.Encode($$"""{"iss":"https://issuer.example.com","aud":"facilitator","exp":{{expires}},"sub":"dashboard"}""");
        var signature = Base64UrlEncoder.Encode(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.ASCII.GetBytes(header + "." + claims)));
        return header + "." + claims + "." + signature;
    }

    private static async Task<HttpResponseMessage> GetStatusAsync(GatewayHost gateway, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/facilitator-status?include=health");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return await gateway.Client.SendAsync(request);
    }

    [Fact]
    public async Task Jwt_CritHeader_401EvenWhenOtherwiseValid()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var plain = await GetStatusAsync(gateway, Token());
        using var critical = await GetStatusAsync(gateway, Token(",\"crit\":[\"urn:example:unknown\"],\"urn:example:unknown\":true"));
        using var escaped = await GetStatusAsync(gateway, Token(",\"\\u0063rit\":[\"b64\"],\"b64\":false"));

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, critical.StatusCode);
        Assert.Contains("crit", Json(await critical.Content.ReadAsStringAsync()).GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, escaped.StatusCode);
    }

    [Fact]
    public async Task Authorization_TwoHeaders_401SayingSo()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var token = Token();
        var server = gateway.Client.BaseAddress!;

        var answer = await RawHttp.SendAsync(
            server,
            $"GET /api/facilitator-status?include=health HTTP/1.1\r\nHost: {server.Authority}\r\nAuthorization: Bearer {token}\r\nAuthorization: Bearer not-this-one\r\n");
        var single = await RawHttp.SendAsync(
            server, $"GET /api/facilitator-status?include=health HTTP/1.1\r\nHost: {server.Authority}\r\nAuthorization: Bearer {token}\r\n");

        Assert.Equal(401, answer.Status);
        Assert.Contains("more than one Authorization header", Json(answer.Body).GetProperty("error").GetProperty("message").GetString());
        Assert.DoesNotContain(token, answer.Body);
        Assert.Equal(200, single.Status);
    }

    [Fact]
    public async Task Start_RsaKeyAsEs256PublicKeyPem_RefusedNamingTheSettingWithoutTheKey()
    {
        using var rsa = RSA.Create(2048);
        var pem = rsa.ExportSubjectPublicKeyInfoPem();

        var ex = await Assert.ThrowsAsync<InvalidSettingException>(() => StartAsync(s => s["Auth:Jwt:Es256PublicKeyPem"] = pem));

        Assert.Contains("Auth:Jwt:Es256PublicKeyPem", ex.Message);
        Assert.DoesNotContain("MII", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData("secp384r1")]
    [InlineData("private")]
    [InlineData("garbage")]
    public async Task Start_Es256KeyNotAP256PublicKey_Refused(string kind)
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = kind switch
        {
            "secp384r1" => p384.ExportSubjectPublicKeyInfoPem(),
            "private" => p256.ExportECPrivateKeyPem(),
            _ => "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----",
        };

        var ex = await Assert.ThrowsAsync<InvalidSettingException>(() => StartAsync(s => s["Auth:Jwt:Es256PublicKeyPem"] = pem));

        Assert.Contains("Auth:Jwt:Es256PublicKeyPem", ex.Message);
    }
}
