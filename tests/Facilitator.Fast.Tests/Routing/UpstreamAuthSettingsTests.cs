using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// Per-upstream credentials besides CDP's: a bearer token or an API-key header from the environment or an <c>Auth</c>
/// section, secrets read from files, and the settings that stop the start — naming the setting, never the secret.
/// </summary>
public sealed class UpstreamAuthSettingsTests
{
    private const string Token = "tok-3f9a1c7e5b";

    [Fact]
    public async Task Requests_FacilitatorAuthToken_BearerOnEveryOperationOfThatUpstreamOnly()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Seed(first, second, ("FACILITATOR_2_AUTH_TOKEN", Token)));

        first.Answer("/verify", 503, "{}");
        (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();
        (await gateway.Client.GetAsync("/supported")).Dispose();

        Assert.All(first.Received, r => Assert.False(r.Headers.ContainsKey("Authorization")));
        Assert.NotEmpty(second.Received);
        Assert.All(second.Received, r => Assert.Equal("Bearer " + Token, r.Headers["Authorization"]));
        var config = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=config,health"));
        Assert.Equal("bearer", config.GetProperty("config").GetProperty("facilitators")[1].GetProperty("auth").GetString());
        Assert.Equal("accepted", config.GetProperty("health").GetProperty("facilitators")[1].GetProperty("credentials").GetString());
        Assert.False(config.GetProperty("health").GetProperty("facilitators")[0].TryGetProperty("credentials", out _));
        Assert.DoesNotContain(Token, config.ToString());
    }

    [Fact]
    public async Task Requests_AuthTokenFileAndHeader_ApiKeyFromTheFileInThatHeader()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, Token + "\n");
            await using var gateway = await GatewayHost.StartAsync(Seed(first, second,
                ("FACILITATOR_1_AUTH_TOKEN_FILE", file), ("FACILITATOR_1_AUTH_HEADER", "X-API-Key")));

            (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();

            var request = Assert.Single(first.Received);
            Assert.Equal(Token, request.Headers["X-API-Key"]);
            Assert.False(request.Headers.ContainsKey("Authorization"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Requests_AuthSectionApiKey_SentInItsHeader()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Upstreams:0:Auth:Kind"] = "api-key";
        settings["Upstreams:0:Auth:Header"] = "X-Facilitator-Key";
        settings["Upstreams:0:Auth:Token"] = Token;
        await using var gateway = await GatewayHost.StartAsync(settings);

        (await gateway.PostAsync("/settle", SignedPayments.V2)).Dispose();

        Assert.Equal(Token, Assert.Single(upstream.Received).Headers["X-Facilitator-Key"]);
    }

    [Fact]
    public async Task Requests_UpstreamRefusesTheToken_CredentialsRefusedAndFailover()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        first.Answer("/verify", 403, """{"error":"forbidden: bad api key"}""");
        await using var gateway = await GatewayHost.StartAsync(Seed(first, second, ("FACILITATOR_1_AUTH_TOKEN", Token)));

        using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);

        Assert.Equal("facilitator-2", Header(verify, "X-Facilitator-Upstream"));
        Assert.Equal(1, first.CountOf("/verify"));
        var health = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health")).GetProperty("health").GetProperty("facilitators")[0];
        Assert.Equal("refused", health.GetProperty("credentials").GetString());
        Assert.Equal("verify: HTTP 403: forbidden: bad api key", health.GetProperty("credentialsRefusal").GetString());
    }

    public static TheoryData<string, string?, string?, string> UnusableSettings() => new()
    {
        { "FACILITATOR_1_AUTH_TOKEN_FILE", "/nonexistent/secret", null, "FACILITATOR_1_AUTH_TOKEN_FILE" },
        { "FACILITATOR_1_AUTH_HEADER", "X-API-Key", null, "FACILITATOR_1_AUTH_HEADER" },
        { "FACILITATOR_1_AUTH_TOKEN", Token, "FACILITATOR_1_AUTH_TOKEN_FILE", "FACILITATOR_1_AUTH_TOKEN_FILE" },
        { "FACILITATOR_1_AUTH_TOKEN", Token, "FACILITATOR_1_AUTH_HEADER", "FACILITATOR_1_AUTH_HEADER" },
        { "CDP_API_KEY_SECRET", "not-a-key-" + Token, "CDP_API_KEY_ID", "CDP_API_KEY_SECRET" },
        { "CDP_API_KEY_SECRET_FILE", "/nonexistent/cdp", "CDP_API_KEY_ID", "CDP_API_KEY_SECRET_FILE" },
        { "FACILITATOR_3_AUTH_TOKEN", Token, null, "FACILITATOR_3_AUTH_TOKEN" },
    };

    [Theory]
    [MemberData(nameof(UnusableSettings))]
    public async Task Start_UnusableCredentialSetting_StopsNamingItNeverTheSecret(string variable, string? value, string? companion, string named)
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        var settings = Seed(first, second, (variable, value));
        if (companion is not null)
        {
            // The companion's value: a file that exists, a header name that is none, or a key id.
            settings[companion] = companion switch
            {
                "FACILITATOR_1_AUTH_TOKEN_FILE" => typeof(UpstreamAuthSettingsTests).Assembly.Location,
                "FACILITATOR_1_AUTH_HEADER" => "Bad Header",
                _ => "organizations/o/apiKeys/k",
            };
        }

        var error = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task Start_CdpSecretFileAndValueBoth_StopsNamingTheFileSetting()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        var key = CdpTestKey.Ed25519();

        var error = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(Seed(first, second,
            ("CDP_API_KEY_ID", key.KeyId), ("CDP_API_KEY_SECRET", key.Secret), ("CDP_API_KEY_SECRET_FILE", "/run/secrets/cdp"))));

        Assert.Contains("CDP_API_KEY_SECRET_FILE", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Secret, error.Message, StringComparison.Ordinal);
    }

    /// <summary>The seed's list with its first two entries pointed at the fakes and CDP (N=3) off unless configured.</summary>
    private static Dictionary<string, string?> Seed(FakeFacilitator first, FakeFacilitator second, params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["FACILITATOR_1_URL"] = first.Url,
            ["FACILITATOR_2_URL"] = second.Url,
            ["FACILITATOR_3_URL"] = "http://127.0.0.1:9/platform/v2/x402",
            ["Aggregator:Hedging"] = "false",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }
}
