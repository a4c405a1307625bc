using System.Net;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>The connections the gateway opens to one upstream: bounded, whatever the upstream's speed.</summary>
public sealed class UpstreamConnectionTests
{
    [Fact]
    public async Task Verify_SlowUpstreamAndMoreCallsThanTheBound_NeverMoreConnectionsThanTheBound()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/verify", 200, """{"isValid":true,"payer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}""");
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Aggregator:MaxConnectionsPerUpstream"] = "2";
        settings["Aggregator:Hedging"] = "false";
        settings["Aggregator:TimeoutMs"] = "30000";
        await using var gateway = await GatewayHost.StartAsync(settings);

        var calls = Enumerable.Range(0, 6).Select(i => gateway.PostAsync("/verify", PaymentSigner.ValidNow(2, seed: 900 + i))).ToArray();
        await Eventually.TrueAsync(() => upstream.CountOf("/verify") == 2, "two verifies reach the upstream, one per connection");
        release.SetResult();
        var answers = await Task.WhenAll(calls);

        Assert.All(answers, static a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(6, upstream.CountOf("/verify"));
        var connections = upstream.Received.Where(static r => r.Path == "/verify").Select(static r => r.ConnectionId).Distinct().Count();
        Assert.InRange(connections, 1, 2);
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    [Theory]
    [InlineData("Aggregator:MaxConnectionsPerUpstream", "0", "Aggregator:MaxConnectionsPerUpstream")]
    [InlineData("Upstreams:0:MaxConnections", "0", "Upstreams:0:MaxConnections")]
    public void Load_ConnectionBoundOutOfRange_StartStopsNamingTheSetting(string key, string value, string named)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Upstreams:0:Id"] = "only",
            ["Upstreams:0:Url"] = "http://127.0.0.1:9",
            [key] = value,
        }).Build();

        var ex = Assert.Throws<InvalidSettingException>(() => RoutingConfiguration.Load(configuration));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NoConnectionBoundGiven_DefaultAndPerUpstreamOverride()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Upstreams:0:Id"] = "a",
            ["Upstreams:0:Url"] = "http://127.0.0.1:9",
            ["Upstreams:1:Id"] = "b",
            ["Upstreams:1:Url"] = "http://127.0.0.1:10",
            ["Upstreams:1:MaxConnections"] = "16",
        }).Build();

        var upstreams = RoutingConfiguration.Load(configuration).Upstreams;

        Assert.Equal([256, 16], upstreams.Select(static u => u.MaxConnections));
        Assert.Equal(16, Upstream.CreateHandler(upstreams[1]).MaxConnectionsPerServer);
    }
}
