using System.Net;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// Once credentials are configured the stream needs one, checked by the REST edge's own code: in a header, or — for
/// browsers — a subprotocol or a <c>token</c> query parameter (never logged). <c>X-Payment</c> grants nothing; a browser
/// <c>Origin</c> must be a CORS origin.
/// </summary>
public sealed class EventStreamAuthTests
{
    private const string ApiKey = "ff_live_events_5c2a9e";
    private const string Secret = "a-shared-hs256-secret-of-at-least-32-bytes!";

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync(Action<Dictionary<string, string?>>? configure = null, CapturedLogs? logs = null)
    {
        var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Auth:ApiKeys:0:Name"] = "dashboard";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey)));
        settings["Auth:ApiKeys:1:Name"] = "x402-only";
        settings["Auth:ApiKeys:1:Sha256"] = Convert.ToHexStringLower(SHA256.HashData("x402-only-key"u8));
        settings["Auth:ApiKeys:1:Groups:0"] = "x402";
        settings["Auth:Jwt:HmacSecret"] = Secret;
        settings["Auth:Jwt:Issuer"] = "https://issuer.example.com";
        settings["Auth:Jwt:Audience"] = "facilitator";
        settings["Edge:Cors:AllowedOrigins:0"] = "https://dashboard.example.com";
        configure?.Invoke(settings);
        return (await GatewayHost.StartAsync(settings, logs: logs), upstream);
    }

    private static string Token(string secret = Secret) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://issuer.example.com",
            Audience = "facilitator",
            Subject = new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sub", "dashboard")]),
            Expires = DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        });

    [Fact]
    public async Task NoCredentials_401BeforeTheUpgrade()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(HttpStatusCode.Unauthorized, await EventStreamClient.RefusalAsync(gateway));
    }

    [Fact]
    public async Task XPayment_GrantsNothing()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        var status = await EventStreamClient.RefusalAsync(gateway, o => o.SetRequestHeader("X-Payment", Convert.ToBase64String(Encoding.UTF8.GetBytes(SignedPayments.V2))));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task ApiKeyHeader_Connects()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        await using var client = await EventStreamClient.ConnectAsync(gateway, o => o.SetRequestHeader("X-API-Key", ApiKey));

        await client.NextAsync("connected");
    }

    [Fact]
    public async Task BearerHeader_Connects()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        await using var client = await EventStreamClient.ConnectAsync(gateway, o => o.SetRequestHeader("Authorization", "Bearer " + Token()));

        await client.NextAsync("connected");
    }

    [Fact]
    public async Task JwtInSubprotocol_Connects_AnsweredWithTheEventsProtocol()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        await using var client = await EventStreamClient.ConnectAsync(gateway, o =>
        {
            o.AddSubProtocol("facilitator-events");
            o.AddSubProtocol("bearer." + Token());
        });

        await client.NextAsync("connected");
        Assert.Equal("facilitator-events", client.SubProtocol);
    }

    [Fact]
    public async Task CredentialAloneInSubprotocol_Connects_ThatProtocolAnswered()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var offered = "bearer." + ApiKey;

        await using var client = await EventStreamClient.ConnectAsync(gateway, o => o.AddSubProtocol(offered));

        await client.NextAsync("connected");
        Assert.Equal(offered, client.SubProtocol);
    }

    [Theory]
    [InlineData("bearer.not-a-key")]
    [InlineData("bearer.eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")]
    public async Task InvalidCredentialInSubprotocol_401(string offered)
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(HttpStatusCode.Unauthorized, await EventStreamClient.RefusalAsync(gateway, o => o.AddSubProtocol(offered)));
    }

    [Fact]
    public async Task TokenQueryParameter_Connects_AndIsNeverLogged()
    {
        var logs = new CapturedLogs();
        var jwt = Token();
        var (gateway, upstream) = await StartAsync(
            s =>
            {
                s["Logging:LogLevel:Default"] = "Trace";
                s["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Warning";
            },
            logs);
        await using var _ = gateway;
        await using var __ = upstream;

        await using (var client = await EventStreamClient.ConnectAsync(gateway, query: "token=" + Uri.EscapeDataString(jwt)))
        {
            await client.NextAsync("connected");
        }

        await using (var keyed = await EventStreamClient.ConnectAsync(gateway, query: "token=" + ApiKey))
        {
            await keyed.NextAsync("connected");
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await EventStreamClient.RefusalAsync(gateway, query: "token=wrong-" + ApiKey));
        Assert.NotEmpty(logs.Entries);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(jwt, StringComparison.Ordinal) || e.Message.Contains(ApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task CredentialsForAnotherGroup_403()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(HttpStatusCode.Forbidden, await EventStreamClient.RefusalAsync(gateway, o => o.SetRequestHeader("X-API-Key", "x402-only-key")));
    }

    [Fact]
    public async Task CredentialInTwoPlaces_Refused()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        var status = await EventStreamClient.RefusalAsync(gateway, o => o.SetRequestHeader("X-API-Key", ApiKey), query: "token=" + ApiKey);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Theory]
    [InlineData("https://evil.example.com", HttpStatusCode.Forbidden)]
    [InlineData("null", HttpStatusCode.Forbidden)]
    [InlineData("https://dashboard.example.com", HttpStatusCode.SwitchingProtocols)]
    public async Task BrowserOrigin_OnlyTheCorsOrigins(string origin, HttpStatusCode expected)
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        var status = await EventStreamClient.RefusalAsync(gateway, o =>
        {
            o.SetRequestHeader("Origin", origin);
            o.SetRequestHeader("X-API-Key", ApiKey);
        });

        Assert.Equal(expected, status);
    }
}
