using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// A 401 from CDP is about the gateway, not the payment: never relayed as a verdict, the call fails over, it is logged
/// once per change with CDP's words, and the status API says "refused" — for a wrong key, an expired token (a clock
/// behind) and a token naming another URL alike. No key material or token is ever logged or shown.
/// </summary>
public sealed class CdpCredentialRefusalTests
{
    private const int CredentialsRefusedEvent = 1030;
    private const int CredentialsAcceptedEvent = 1031;

    public static TheoryData<string> Refusals() => ["wrong-key", "expired", "wrong-uris"];

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Requests_CdpRefusesTheToken_FailOverAndShowCredentialsRefused(string cause)
    {
        var key = CdpTestKey.Sec1(escapedNewlines: true);
        await using var cdp = await FakeCdpFacilitator.StartAsync(cause == "wrong-key" ? CdpTestKey.Sec1() : key);
        if (cause == "wrong-uris")
        {
            cdp.Authority = "api.cdp.coinbase.com";
        }

        await using var backup = await FakeFacilitator.StartAsync();
        var logs = new CapturedLogs();
        var settings = Settings(cdp, key, backup);

        // A clock five minutes behind: every token has expired by the time it arrives (payments are still valid).
        TimeProvider? clock = cause == "expired" ? new ManualTimeProvider(DateTimeOffset.UtcNow.AddMinutes(-5)) : null;
        await using var gateway = await GatewayHost.StartAsync(settings, clock, logs);

        using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);
        using var settle = await gateway.PostAsync("/settle", SignedPayments.V2);

        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        Assert.Equal("backup", Header(verify, "X-Facilitator-Upstream"));
        Assert.Contains("\"isValid\":true", await verify.Content.ReadAsStringAsync());
        Assert.Equal("backup", Header(settle, "X-Facilitator-Upstream"));
        Assert.Contains("\"success\":true", await settle.Content.ReadAsStringAsync());
        Assert.Equal(0, cdp.Accepted);
        Assert.Equal(2, cdp.Refusals.Count);
        Assert.Contains(cdp.Refusals, r => r.Contains(cause switch { "expired" => "Lifetime", "wrong-uris" => "uris", _ => "Signature" }, StringComparison.OrdinalIgnoreCase));

        var status = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health"));
        var health = status.GetProperty("health").GetProperty("facilitators")[0];
        Assert.Equal("cdp", health.GetProperty("id").GetString());
        Assert.Equal("refused", health.GetProperty("credentials").GetString());
        Assert.Contains("HTTP 401: unauthorized: The request is not properly authenticated.", health.GetProperty("credentialsRefusal").GetString());
        Assert.StartsWith("credentials refused (HTTP 401", health.GetProperty("lastError").GetString());
        Assert.Equal(2, logs.Entries.Count(e => e.EventId == CredentialsRefusedEvent));
    }

    [Fact]
    public async Task Requests_OnlyCdpAndItRefuses_ServiceUnavailableNeverTheUpstreams401()
    {
        var key = CdpTestKey.Ed25519();
        await using var cdp = await FakeCdpFacilitator.StartAsync(CdpTestKey.Ed25519());
        await using var gateway = await GatewayHost.StartAsync(CdpUpstreamTests.SeedSettings(cdp, key));

        using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);
        using var settle = await gateway.PostAsync("/settle", SignedPayments.V2);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, verify.StatusCode);
        Assert.Contains("credentials refused", await verify.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, settle.StatusCode);
        Assert.DoesNotContain("settlement_pending", await settle.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Requests_RefusedManyTimesThenFixed_LoggedOnceEachWay()
    {
        var key = CdpTestKey.Ed25519();
        await using var cdp = await FakeCdpFacilitator.StartAsync(CdpTestKey.Ed25519());
        await using var backup = await FakeFacilitator.StartAsync();
        var logs = new CapturedLogs();
        var settings = Settings(cdp, key, backup);
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1000";
        settings["Logging:LogLevel:Facilitator.Fast.Routing"] = "Information";
        await using var gateway = await GatewayHost.StartAsync(settings, logs: logs);

        for (var i = 0; i < 6; i++)
        {
            (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();
        }

        cdp.Key = key;
        (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();
        (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();

        var refused = Assert.Single(logs.Entries, e => e.EventId == CredentialsRefusedEvent);
        Assert.Equal(LogLevel.Error, refused.Level);
        Assert.Contains("The request is not properly authenticated.", refused.Message);
        Assert.Single(logs.Entries, e => e.EventId == CredentialsAcceptedEvent);
        Assert.DoesNotContain(logs.Entries, e => e.EventId == 1001 && e.Message.Contains("cdp", StringComparison.Ordinal));
        var health = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health")).GetProperty("health").GetProperty("facilitators")[0];
        Assert.Equal("accepted", health.GetProperty("credentials").GetString());
        Assert.False(health.TryGetProperty("credentialsRefusal", out _));
    }

    [Fact]
    public async Task LogsAndStatus_AfterAcceptedAndRefusedCalls_NoKeyMaterialAndNoToken()
    {
        var key = CdpTestKey.Sec1(escapedNewlines: true);
        await using var cdp = await FakeCdpFacilitator.StartAsync(key);
        await using var backup = await FakeFacilitator.StartAsync();
        var logs = new CapturedLogs();
        var settings = Settings(cdp, key, backup);
        settings["Logging:LogLevel:Default"] = "Trace";
        settings["FACILITATOR_LOGGING"] = "true";
        await using var gateway = await GatewayHost.StartAsync(settings, logs: logs);

        // CDP echoing the token it refused must not put it anywhere either.
        (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();
        cdp.Key = CdpTestKey.Ed25519();
        cdp.EchoTokenInRefusals = true;
        (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();
        (await gateway.PostAsync("/settle", SignedPayments.V2)).Dispose();
        var status = await gateway.Client.GetStringAsync("/api/facilitator-status");

        var tokens = cdp.Received.Select(static r => r.Headers["Authorization"]["Bearer ".Length..]).ToArray();
        Assert.Equal(3, tokens.Length);
        var everything = string.Join("\n", logs.Entries.Select(static e => e.Message + e.Exception)) + "\n" + status;
        Assert.Contains("credentials refused", everything);
        foreach (var secret in key.SecretFragments().Concat(tokens).Concat(tokens.Select(static t => t.Split('.')[2])).Append(key.KeyId))
        {
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("eyJ", everything, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Settings(FakeCdpFacilitator cdp, CdpTestKey key, FakeFacilitator backup)
    {
        var settings = GatewayHost.Upstreams(("cdp", cdp.Url), ("backup", backup.Url));
        settings["Upstreams:0:Kind"] = "coinbase-cdp";
        settings["CDP_API_KEY_ID"] = key.KeyId;
        settings["CDP_API_KEY_SECRET"] = key.Secret;
        settings["Aggregator:Hedging"] = "false";
        return settings;
    }
}
