using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// Capabilities learned by the instance that probes are shared through a real <c>redis-server</c>: the instance that
/// never probes routes by them, at start and when they change.
/// </summary>
public sealed class SharedCapabilitiesTests
{
    private const string V1BaseSepolia = """{"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"}]}""";
    private const string V2BaseSepolia = """{"kinds":[{"x402Version":2,"scheme":"exact","network":"eip155:84532"}]}""";

    [Fact]
    public async Task Route_OnlyTheOtherInstanceProbed_RoutesByWhatItLearned()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();

        await AssertTheInstanceThatNeverProbesRoutesByCapabilityAsync(redis.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url)), primary, secondary);
    }

    /// <summary>
    /// A probes (it holds the probe lock for the whole test), B never does: B routes a v2 payment past the primary that
    /// does not list it, then, when A's next probe finds the two upstreams swapped, back to the primary.
    /// </summary>
    internal static async Task AssertTheInstanceThatNeverProbesRoutesByCapabilityAsync(
        Dictionary<string, string?> settings, FakeFacilitator primary, FakeFacilitator secondary)
    {
        primary.Answer("/supported", 200, V1BaseSepolia);
        secondary.Answer("/supported", 200, V2BaseSepolia);
        settings["FACILITATOR_HEALTH_CHECK"] = "true";
        settings["FACILITATOR_HEALTH_CHECK_INTERVAL_MS"] = "600000";
        settings["Aggregator:CheckHealthMinIntervalMs"] = "0";
        await using var a = await GatewayHost.StartAsync(settings);
        await Eventually.TrueAsync(() => primary.CountOf("/supported") == 1 && secondary.CountOf("/supported") == 1, "A probes both upstreams");
        var shared = a.Services.GetRequiredService<RedisConnection>();
        await Eventually.TrueAsync(
            async () => await shared.Database.KeyExistsAsync(shared.Key("caps", "primary")) && await shared.Database.KeyExistsAsync(shared.Key("caps", "secondary")),
            "A shares what it learned before B starts");
        await using var b = await GatewayHost.StartAsync(settings);

        await Eventually.TrueAsync(
            async () =>
            {
                using var response = await b.PostAsync("/verify", SignedPayments.V2);
                return Header(response, "X-Facilitator-Upstream") == "secondary";
            },
            "B routes the v2 payment to the upstream A found listing it");
        Assert.Equal(0, primary.CountOf("/verify"));

        primary.Answer("/supported", 200, V2BaseSepolia);
        secondary.Answer("/supported", 200, V1BaseSepolia);
        (await a.PostAsync("/api/facilitator-status", """{"action":"check-health"}""")).Dispose();

        await Eventually.TrueAsync(
            async () =>
            {
                using var response = await b.PostAsync("/verify", SignedPayments.V2);
                return Header(response, "X-Facilitator-Upstream") == "primary";
            },
            "B follows the capabilities A found changed");
        Assert.Equal(2, primary.CountOf("/supported"));
        Assert.Equal(2, secondary.CountOf("/supported"));
    }
}
