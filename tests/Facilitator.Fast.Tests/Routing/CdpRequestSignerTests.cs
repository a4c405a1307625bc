using System.Buffers.Text;
using System.Text.Json;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>The CDP JWT of one request: the exact header and claims, a token per request, and what is left unsigned.</summary>
public sealed class CdpRequestSignerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("sec1")]
    [InlineData("ed25519")]
    public void Apply_Verify_HeaderAndClaimsExactlyAsTheSdksSendThem(string shape)
    {
        var test = CdpTestKey.Of(shape);
        var signer = Signer(test, new ManualTimeProvider(Now));
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://api.cdp.coinbase.com/platform/v2/x402/verify");

        Assert.True(signer.Apply(request, FacilitatorOperation.Verify));

        var (header, claims) = Decode(request);
        Assert.Equal(["alg", "kid", "typ", "nonce"], header.EnumerateObject().Select(static p => p.Name));
        Assert.Equal(test.Algorithm, header.GetProperty("alg").GetString());
        Assert.Equal(test.KeyId, header.GetProperty("kid").GetString());
        Assert.Equal("JWT", header.GetProperty("typ").GetString());
        Assert.Matches("^[0-9a-f]{32}$", header.GetProperty("nonce").GetString());
        Assert.Equal(["sub", "iss", "uris", "iat", "nbf", "exp"], claims.EnumerateObject().Select(static p => p.Name));
        Assert.Equal(test.KeyId, claims.GetProperty("sub").GetString());
        Assert.Equal("cdp", claims.GetProperty("iss").GetString());
        Assert.Equal(["POST api.cdp.coinbase.com/platform/v2/x402/verify"], claims.GetProperty("uris").EnumerateArray().Select(static u => u.GetString()));
        Assert.Equal(Now.ToUnixTimeSeconds(), claims.GetProperty("iat").GetInt64());
        Assert.Equal(Now.ToUnixTimeSeconds(), claims.GetProperty("nbf").GetInt64());
        Assert.Equal(Now.ToUnixTimeSeconds() + 120, claims.GetProperty("exp").GetInt64());
        Assert.StartsWith("sdk_language=csharp,source=facilitator-fast,source_version=", request.Headers.GetValues("Correlation-Context").Single());
    }

    [Theory]
    [InlineData("POST", "https://api.cdp.coinbase.com/platform/v2/x402/settle", "POST api.cdp.coinbase.com/platform/v2/x402/settle")]
    [InlineData("GET", "https://api.cdp.coinbase.com/platform/v2/x402/supported", "GET api.cdp.coinbase.com/platform/v2/x402/supported")]
    [InlineData("POST", "https://api.cdp.coinbase.com:443/platform/v2/x402/verify", "POST api.cdp.coinbase.com/platform/v2/x402/verify")]
    [InlineData("POST", "https://staging.example.com:8443/cdp/x402/verify", "POST staging.example.com:8443/cdp/x402/verify")]
    [InlineData("POST", "http://127.0.0.1:44075/platform/v2/x402/verify", "POST 127.0.0.1:44075/platform/v2/x402/verify")]
    [InlineData("POST", "http://localhost/platform/v2/x402/verify", "POST localhost/platform/v2/x402/verify")]
    [InlineData("POST", "http://[::1]:8080/x402/verify", "POST [::1]:8080/x402/verify")]
    [InlineData("POST", "HTTPS://API.CDP.COINBASE.COM/platform/v2/x402/verify/", "POST api.cdp.coinbase.com/platform/v2/x402/verify")]
    public void RequestUri_UrlCalled_MethodHostAndPathWithoutDefaultPortOrQuery(string method, string url, string expected) =>
        Assert.Equal(expected, CdpRequestSigner.RequestUri(new HttpMethod(method), new Uri(url)));

    [Fact]
    public void Apply_TwoRequestsInTheSameSecond_TwoTokensWithTheirOwnNonces()
    {
        var signer = Signer(CdpTestKey.Ed25519(), new ManualTimeProvider(Now));
        using var first = new HttpRequestMessage(HttpMethod.Post, "https://api.cdp.coinbase.com/platform/v2/x402/settle");
        using var second = new HttpRequestMessage(HttpMethod.Post, "https://api.cdp.coinbase.com/platform/v2/x402/settle");

        signer.Apply(first, FacilitatorOperation.Settle);
        signer.Apply(second, FacilitatorOperation.Settle);

        Assert.NotEqual(first.Headers.Authorization!.Parameter, second.Headers.Authorization!.Parameter);
        Assert.NotEqual(Decode(first).Header.GetProperty("nonce").GetString(), Decode(second).Header.GetProperty("nonce").GetString());
    }

    [Fact]
    public void Apply_ClockMoved_ClaimsFollowTheClock()
    {
        var time = new ManualTimeProvider(Now);
        var signer = Signer(CdpTestKey.Sec1(), time);
        time.Advance(TimeSpan.FromMinutes(10));
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://api.cdp.coinbase.com/platform/v2/x402/supported");

        signer.Apply(request, FacilitatorOperation.Supported);

        Assert.Equal(Now.AddMinutes(10).ToUnixTimeSeconds(), Decode(request).Claims.GetProperty("iat").GetInt64());
    }

    [Fact]
    public void Apply_Discovery_PublicSoNotSigned()
    {
        var signer = Signer(CdpTestKey.Sec1(), new ManualTimeProvider(Now));
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://api.cdp.coinbase.com/platform/v2/x402/discovery/resources");

        Assert.False(signer.Apply(request, FacilitatorOperation.Discovery));

        Assert.Null(request.Headers.Authorization);
    }

    [Theory]
    [InlineData("sec1")]
    [InlineData("ed25519")]
    public async Task Authorization_ManyThreadsAtOnce_EveryTokenValidatesIndependently(string shape)
    {
        var test = CdpTestKey.Of(shape);
        var signer = Signer(test, TimeProvider.System);
        var uri = new Uri("http://127.0.0.1:4000/platform/v2/x402/verify");

        var tokens = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            Enumerable.Range(0, 50).Select(_ => signer.Authorization(HttpMethod.Post, uri)).ToArray())));

        var nonces = new HashSet<string>();
        foreach (var token in tokens.SelectMany(static t => t))
        {
            Assert.Null(await CdpJwtValidator.ValidateAsync(token, "POST 127.0.0.1:4000/platform/v2/x402/verify", test, nonces));
        }

        Assert.Equal(400, nonces.Count);
    }

    private static CdpRequestSigner Signer(CdpTestKey test, TimeProvider time) =>
        new(CdpApiKey.Parse(test.KeyId, test.Secret, "id", "secret"), time);

    private static (JsonElement Header, JsonElement Claims) Decode(HttpRequestMessage request)
    {
        Assert.Equal("Bearer", request.Headers.Authorization!.Scheme);
        var parts = request.Headers.Authorization.Parameter!.Split('.');
        Assert.Equal(3, parts.Length);
        Assert.Equal(86, parts[2].Length);
        return (JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement.Clone(),
            JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement.Clone());
    }
}
