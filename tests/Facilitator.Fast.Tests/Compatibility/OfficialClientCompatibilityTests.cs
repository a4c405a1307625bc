using System.Text.Json;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Compatibility;

/// <summary>
/// The official x402 clients (<c>@x402/core</c>'s <c>HTTPFacilitatorClient</c>, <c>x402</c>'s <c>useFacilitator</c>),
/// run by Node from <c>tests/compat</c>, calling supported, verify and settle through the gateway.
/// </summary>
public sealed class OfficialClientCompatibilityTests
{
    private static readonly string CompatDirectory = Path.Combine(RepositoryPaths.Root, "tests", "compat");

    [Fact]
    public async Task OfficialClients_ThroughGateway_EveryCallSucceedsAndUnknownFieldsArrive()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/supported", 200, """
            {"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"},{"x402Version":2,"scheme":"exact","network":"eip155:84532"}],"extensions":[],"signers":{"eip155:*":["0x1111111111111111111111111111111111111111"]}}
            """);
        upstream.On("/settle", context =>
        {
            var v2 = upstream.Received.Last(r => r.Path == "/settle").BodyText.Contains("\"x402Version\":2", StringComparison.Ordinal);
            return FakeFacilitator.WriteAsync(context, 200, $$"""
                {"success":true,"transaction":"0x{{new string('a', 64)}}","network":"{{(v2 ? "eip155:84532" : "base-sepolia")}}","payer":"{{FakeFacilitator.Payer}}"}
                """);
        });
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("upstream", upstream.Url)));

        var result = await RunHarnessAsync(gateway.Client.BaseAddress!.ToString());

        foreach (var version in new[] { "v1", "v2" })
        {
            foreach (var call in new[] { "supported", "verify", "settle" })
            {
                var outcome = result.GetProperty(version).GetProperty(call);
                Assert.True(outcome.GetProperty("ok").GetBoolean(), $"{version} {call}: {outcome}");
            }
        }

        Assert.True(result.GetProperty("v2").GetProperty("verify").GetProperty("value").GetProperty("isValid").GetBoolean());
        Assert.True(result.GetProperty("v1").GetProperty("settle").GetProperty("value").GetProperty("success").GetBoolean());
        Assert.Equal("eip155:84532", result.GetProperty("v2").GetProperty("settle").GetProperty("value").GetProperty("network").GetString());
        Assert.Equal(2, result.GetProperty("v2").GetProperty("supported").GetProperty("value").GetProperty("kinds").GetArrayLength());

        var forwardedV2Verify = upstream.Received.First(r => r.Path == "/verify" && r.BodyText.Contains("\"x402Version\":2", StringComparison.Ordinal));
        Assert.Contains("\"extensions\":{\"compatProbe\":{\"keep\":\"me\"}}", forwardedV2Verify.BodyText);
    }

    [Fact]
    public async Task OfficialClients_EveryUpstreamDown_TypedErrorsWithOfficialReasons()
    {
        using var down = new RefusingEndpoint();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("down", down.Url)));

        var result = await RunHarnessAsync(gateway.Client.BaseAddress!.ToString());

        Assert.Equal("VerifyError: unexpected_verify_error: ", Prefix(result, "v2", "verify"));
        Assert.Equal("SettleError: unexpected_settle_error: ", Prefix(result, "v2", "settle"));
        Assert.Equal("VerifyError: Failed to verify payment: unexpected_verify_error", Error(result, "v1", "verify"));
        Assert.Equal("SettleError: Failed to settle payment: unexpected_settle_error", Error(result, "v1", "settle"));
    }

    [Fact]
    public async Task OfficialClients_SettlementPending_V2ReturnsItV1RaisesSettleError()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Hang("/settle");
        var settings = GatewayHost.Upstreams(("upstream", upstream.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);

        var result = await RunHarnessAsync(gateway.Client.BaseAddress!.ToString());

        var v2 = result.GetProperty("v2").GetProperty("settle");
        Assert.True(v2.GetProperty("ok").GetBoolean(), v2.ToString());
        Assert.False(v2.GetProperty("value").GetProperty("success").GetBoolean());
        Assert.Equal("settlement_pending", v2.GetProperty("value").GetProperty("errorReason").GetString());
        Assert.Equal("SettleError: Failed to settle payment: settlement_pending", Error(result, "v1", "settle"));
    }

    [Fact]
    public async Task OfficialClients_RateLimited_TypedErrorsSayingRateLimited()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("upstream", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        foreach (var policy in new[] { "verify", "settle" })
        {
            settings[$"RateLimit:Policies:{policy}:Capacity"] = "1";
            settings[$"RateLimit:Policies:{policy}:RefillPerSecond"] = "0.001";
        }

        await using var gateway = await GatewayHost.StartAsync(settings);
        (await gateway.PostAsync("/verify", TestPayments.V2)).Dispose();
        (await gateway.PostAsync("/settle", TestPayments.V2)).Dispose();

        var result = await RunHarnessAsync(gateway.Client.BaseAddress!.ToString());

        Assert.StartsWith("VerifyError: unexpected_verify_error: Rate limited", Error(result, "v2", "verify"), StringComparison.Ordinal);
        Assert.StartsWith("SettleError: unexpected_settle_error: Rate limited", Error(result, "v2", "settle"), StringComparison.Ordinal);
        Assert.StartsWith("VerifyError: Failed to verify payment: unexpected_verify_error", Error(result, "v1", "verify"), StringComparison.Ordinal);
        Assert.StartsWith("SettleError: Failed to settle payment: unexpected_settle_error", Error(result, "v1", "settle"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OfficialClients_CredentialsRequiredAndMissing_TypedErrors()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("upstream", upstream.Url));
        settings["Auth:ApiKeys:0:Name"] = "merchant";
        settings["Auth:ApiKeys:0:Sha256"] = new string('a', 64);
        settings["Auth:RequireForX402"] = "true";
        await using var gateway = await GatewayHost.StartAsync(settings);

        var result = await RunHarnessAsync(gateway.Client.BaseAddress!.ToString());

        Assert.StartsWith("VerifyError: unexpected_verify_error: Authentication is required", Error(result, "v2", "verify"), StringComparison.Ordinal);
        Assert.StartsWith("SettleError: unexpected_settle_error: Authentication is required", Error(result, "v2", "settle"), StringComparison.Ordinal);
        Assert.Equal(0, upstream.CountOf("/verify") + upstream.CountOf("/settle"));
    }

    private static string Error(JsonElement result, string version, string call)
    {
        var outcome = result.GetProperty(version).GetProperty(call);
        Assert.False(outcome.GetProperty("ok").GetBoolean(), $"{version} {call} should fail: {outcome}");
        return outcome.GetProperty("error").GetString()!;
    }

    private static string Prefix(JsonElement result, string version, string call)
    {
        var error = Error(result, version, call);
        var end = error.IndexOf(": ", error.IndexOf(": ", StringComparison.Ordinal) + 2, StringComparison.Ordinal);
        return end < 0 ? error : error[..(end + 2)];
    }

    private static async Task<JsonElement> RunHarnessAsync(string gatewayUrl)
    {
        RepositoryPaths.Require(Directory.Exists(Path.Combine(CompatDirectory, "node_modules", "@x402", "core")), "tests/compat/node_modules (npm ci)");

        var run = await ProcessRunner.RunAsync(
            "node", ["compat.mjs", gatewayUrl], CompatDirectory, null, TimeSpan.FromSeconds(90));

        Assert.True(run.ExitCode == 0, $"compat.mjs exited {run.ExitCode}: {run.StandardError}");
        var line = run.StandardOutput.Trim();
        var json = JsonDocument.Parse(line).RootElement.Clone();
        Assert.False(json.TryGetProperty("harnessError", out var harnessError), harnessError.ToString());
        return json;
    }
}
