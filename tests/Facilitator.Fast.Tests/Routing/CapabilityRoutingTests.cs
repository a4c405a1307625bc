using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>Each upstream's <c>/supported</c> decides which payments it receives.</summary>
public sealed class CapabilityRoutingTests
{
    private const string V1BaseSepolia = """{"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"}]}""";
    private const string V2BaseSepolia = """{"kinds":[{"x402Version":2,"scheme":"exact","network":"eip155:84532"}]}""";

    [Fact]
    public async Task Route_PrimaryDoesNotListTheKind_SecondaryThatDoesIsUsed()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/supported", 200, V1BaseSepolia);
        secondary.Answer("/supported", 200, V2BaseSepolia);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));
        (await gateway.PostAsync("/api/facilitator-status", """{"action":"check-health"}""")).Dispose();

        using var v2 = await gateway.PostAsync("/verify", TestPayments.V2);
        using var v1 = await gateway.PostAsync("/verify", TestPayments.V1);

        Assert.Equal("secondary", Header(v2, "X-Facilitator-Upstream"));
        Assert.Equal("primary", Header(v1, "X-Facilitator-Upstream"));
        Assert.Equal(1, primary.CountOf("/verify"));
        Assert.Equal(1, secondary.CountOf("/verify"));
    }

    [Fact]
    public async Task Route_PrimaryCapabilitiesUnknown_KnownSupporterTriedFirst()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/supported", 500, "{}");
        secondary.Answer("/supported", 200, V2BaseSepolia);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));
        (await gateway.PostAsync("/api/facilitator-status", """{"action":"check-health"}""")).Dispose();

        using var response = await gateway.PostAsync("/verify", TestPayments.V2);

        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.Equal(0, primary.CountOf("/verify"));
    }

    [Theory]
    [InlineData("/verify", "invalidReason")]
    [InlineData("/settle", "errorReason")]
    public async Task Route_NoUpstreamListsTheNetwork_UnsupportedAtOnceWithoutUpstreamCalls(string path, string reasonField)
    {
        await using var only = await FakeFacilitator.StartAsync();
        only.Answer("/supported", 200, V1BaseSepolia);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", only.Url)));
        (await gateway.PostAsync("/api/facilitator-status", """{"action":"check-health"}""")).Dispose();

        using var response = await gateway.PostAsync(path, TestPayments.V2);

        Assert.Equal("unsupported_scheme", Json(await response.Content.ReadAsStringAsync()).GetProperty(reasonField).GetString());
        Assert.Equal("0", Header(response, "X-Facilitator-Attempts"));
        Assert.Equal(0, only.CountOf(path));
    }
}
