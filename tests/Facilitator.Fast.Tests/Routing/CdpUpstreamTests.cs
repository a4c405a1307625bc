using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// The gateway against a CDP-shaped upstream that really validates every JWT (IdentityModel; NSec for EdDSA): every
/// key shape CDP issues signs verify, settle and supported; discovery goes unsigned; refusals fail over.
/// </summary>
public sealed class CdpUpstreamTests
{
    /// <summary>The seed's variables: the CDP upstream (N=3) pointed at the fake, the two others off.</summary>
    internal static Dictionary<string, string?> SeedSettings(FakeCdpFacilitator cdp, CdpTestKey key) => new()
    {
        ["FACILITATOR_1_ENABLED"] = "false",
        ["FACILITATOR_2_ENABLED"] = "false",
        ["FACILITATOR_3_URL"] = cdp.Url,
        ["FACILITATOR_3_ID"] = "coinbase-cdp",
        ["CDP_API_KEY_ID"] = key.KeyId,
        ["CDP_API_KEY_SECRET"] = key.Secret,
    };

    [Theory]
    [InlineData("sec1")]
    [InlineData("sec1-escaped")]
    [InlineData("pkcs8")]
    [InlineData("ed25519")]
    public async Task Requests_CdpKeyOfEveryShape_VerifySettleSupportedSignedAndAccepted(string shape)
    {
        var key = CdpTestKey.Of(shape);
        await using var cdp = await FakeCdpFacilitator.StartAsync(key);
        await using var gateway = await GatewayHost.StartAsync(SeedSettings(cdp, key));

        using var supported = await gateway.Client.GetAsync("/supported");
        using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);
        using var settle = await gateway.PostAsync("/settle", SignedPayments.V2);

        Assert.Empty(cdp.Refusals);
        Assert.Equal(HttpStatusCode.OK, supported.StatusCode);
        Assert.Contains("\"isValid\":true", await verify.Content.ReadAsStringAsync());
        Assert.Contains("0xcdp123", await settle.Content.ReadAsStringAsync());
        Assert.Equal("coinbase-cdp", Header(settle, "X-Facilitator-Upstream"));
        Assert.Equal(3, cdp.Accepted);
        var status = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health,config"));
        Assert.Equal("accepted", ById(status.GetProperty("health"), "coinbase-cdp").GetProperty("credentials").GetString());
        Assert.Equal($"coinbase-cdp ({key.Algorithm})", ById(status.GetProperty("config"), "coinbase-cdp").GetProperty("auth").GetString());
    }

    [Fact]
    public async Task Requests_SameOperationRepeated_AFreshTokenEveryTime()
    {
        var key = CdpTestKey.Ed25519();
        await using var cdp = await FakeCdpFacilitator.StartAsync(key);
        await using var gateway = await GatewayHost.StartAsync(SeedSettings(cdp, key));

        for (var i = 0; i < 5; i++)
        {
            (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();
        }

        // The fake refuses a nonce it has seen: five answers are five tokens.
        Assert.Equal(5, cdp.Accepted);
        Assert.Equal(5, cdp.Received.Select(static r => r.Headers["Authorization"]).Distinct().Count());
    }

    [Fact]
    public async Task Discovery_CdpIsPublic_SentWithoutAToken()
    {
        var key = CdpTestKey.Sec1();
        await using var cdp = await FakeCdpFacilitator.StartAsync(key);
        await using var gateway = await GatewayHost.StartAsync(SeedSettings(cdp, key));

        using var response = await gateway.Client.GetAsync("/discovery/resources?limit=5");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var request = Assert.Single(cdp.Received);
        Assert.Equal(FakeCdpFacilitator.BasePath + "/discovery/resources", request.Path);
        Assert.False(request.Headers.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task Start_SecretFromFile_SignsWithIt()
    {
        var key = CdpTestKey.Sec1();
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, key.Secret);
            await using var cdp = await FakeCdpFacilitator.StartAsync(key);
            var settings = SeedSettings(cdp, key);
            settings.Remove("CDP_API_KEY_SECRET");
            settings["CDP_API_KEY_SECRET_FILE"] = file;
            await using var gateway = await GatewayHost.StartAsync(settings);

            using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);

            Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
            Assert.Equal(1, cdp.Accepted);
            var config = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=config")).GetProperty("config");
            Assert.True(config.GetProperty("cdp").GetProperty("apiKeySecretConfigured").GetBoolean());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Requests_UpstreamSectionWithItsOwnCdpKey_SignsWithThatKey()
    {
        var key = CdpTestKey.Ed25519();
        await using var cdp = await FakeCdpFacilitator.StartAsync(key);
        var settings = GatewayHost.Upstreams(("cdp-staging", cdp.Url));
        settings["Upstreams:0:Auth:Kind"] = "coinbase-cdp";
        settings["Upstreams:0:Auth:KeyId"] = key.KeyId;
        settings["Upstreams:0:Auth:PrivateKey"] = key.Secret;
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);

        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        Assert.Equal(1, cdp.Accepted);
    }

    private static System.Text.Json.JsonElement ById(System.Text.Json.JsonElement section, string id) =>
        section.GetProperty("facilitators").EnumerateArray().Single(f => f.GetProperty("id").GetString() == id);
}
