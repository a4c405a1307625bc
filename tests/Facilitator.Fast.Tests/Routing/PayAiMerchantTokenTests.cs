using System.Buffers.Text;
using System.Text;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Tests.Infrastructure;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>PayAI's merchant token: an Ed25519 JWT of the documented shape on every request to that upstream, probes included.</summary>
public sealed class PayAiMerchantTokenTests
{
    private static readonly byte[] Seed = Enumerable.Range(1, 32).Select(static i => (byte)i).ToArray();

    private static Dictionary<string, string?> Settings(FakeFacilitator upstream, string key)
    {
        var settings = GatewayHost.Upstreams(("payai-network", upstream.Url));
        settings["Upstreams:0:Auth:Kind"] = "payai-merchant";
        settings["Upstreams:0:Auth:KeyId"] = "merchant-key-1";
        settings["Upstreams:0:Auth:PrivateKey"] = key;
        return settings;
    }

    [Fact]
    public async Task Requests_MerchantKeyConfigured_EverySettleVerifyAndProbeCarriesAValidToken()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(upstream, Convert.ToBase64String(Seed)));

        (await gateway.Client.GetAsync("/supported")).Dispose();
        (await gateway.PostAsync("/verify", TestPayments.V2)).Dispose();
        (await gateway.PostAsync("/settle", TestPayments.V2)).Dispose();

        var tokens = upstream.Received.Select(static r => r.Headers["Authorization"]).ToArray();
        Assert.Equal(3, tokens.Length);
        Assert.All(tokens, token => AssertValid(token, "merchant-key-1"));
        Assert.Single(tokens.Distinct());
        var status = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=config"));
        Assert.Equal("payai-merchant", status.GetProperty("config").GetProperty("facilitators")[0].GetProperty("auth").GetString());
        Assert.DoesNotContain(Convert.ToBase64String(Seed), status.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Current_NearItsExpiry_ANewTokenWithANewId()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var token = new PayAiMerchantToken("k", Seed, time);

        var first = token.Current();
        time.Advance(TimeSpan.FromSeconds(90));
        var reused = token.Current();
        time.Advance(TimeSpan.FromSeconds(15));
        var renewed = token.Current();

        Assert.Equal(first, reused);
        Assert.NotEqual(first, renewed);
        AssertValid(renewed, "k");
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("AAAA")]
    public async Task Start_KeyThatIsNoEd25519Key_StopsWithOneLineNamingTheSettingNotTheKey(string key)
    {
        await using var upstream = await FakeFacilitator.StartAsync();

        var error = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(Settings(upstream, key)));

        Assert.Contains("Upstreams:0:Auth:PrivateKey", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseSeed_SeedFollowedByAnotherKeysPublicKey_Refused()
    {
        var pair = new byte[64];
        Seed.CopyTo(pair, 0);
        new Ed25519PrivateKeyParameters(Seed, 0).GeneratePublicKey().GetEncoded().CopyTo(pair, 32);

        Assert.NotNull(PayAiMerchantToken.ParseSeed(Convert.ToBase64String(pair)));
        pair[40] ^= 1;
        Assert.Null(PayAiMerchantToken.ParseSeed(Convert.ToBase64String(pair)));
    }

    private static void AssertValid(string authorization, string keyId)
    {
        Assert.StartsWith("Bearer ", authorization, StringComparison.Ordinal);
        var parts = authorization["Bearer ".Length..].Split('.');
        Assert.Equal(3, parts.Length);
        var header = Json(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[0])));
        var payload = Json(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[1])));
        Assert.Equal("EdDSA", header.GetProperty("alg").GetString());
        Assert.Equal(keyId, header.GetProperty("kid").GetString());
        Assert.Equal("payai-merchant", payload.GetProperty("iss").GetString());
        Assert.Equal(keyId, payload.GetProperty("sub").GetString());
        Assert.Equal(payload.GetProperty("iat").GetInt64() + 120, payload.GetProperty("exp").GetInt64());
        Assert.Equal(32, payload.GetProperty("jti").GetString()!.Length);

        var verifier = new Ed25519Signer();
        verifier.Init(false, new Ed25519PrivateKeyParameters(Seed, 0).GeneratePublicKey());
        var input = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        verifier.BlockUpdate(input, 0, input.Length);
        Assert.True(verifier.VerifySignature(Base64Url.DecodeFromChars(parts[2])));
    }
}
