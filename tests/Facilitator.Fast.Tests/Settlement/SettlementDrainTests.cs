using System.Net;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>Shutdown stops taking settles, waits for those in flight, and allows itself longer than a settle takes.</summary>
public sealed class SettlementDrainTests
{
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";

    [Fact]
    public async Task Stop_WhileASettleIsInFlight_TheSettleFinishesAndIsAnswered()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(1500), 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        var settle = gateway.PostAsync("/settle", PaymentSigner.ValidNow(2, seed: 81));
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the settle reaches the upstream");
        var stopping = gateway.StopAsync();

        using var response = await settle;
        await stopping;
        Assert.Equal(Settled, await response.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CompletedLate);
        Assert.Equal(0, gateway.Services.GetRequiredService<SettlementDrain>().InFlight);
    }

    [Fact]
    public async Task Stopping_NewSettle_RefusedWithRetryAfterAndReadinessFails()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var first = gateway.PostAsync("/settle", PaymentSigner.ValidNow(2, seed: 82));
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the first settle reaches the upstream");

        gateway.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        using (var late = await gateway.PostAsync("/settle", PaymentSigner.ValidNow(2, seed: 83)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, late.StatusCode);
            Assert.Equal("1", late.Headers.RetryAfter?.ToString());
            Assert.Contains("shutting down", Json(await late.Content.ReadAsStringAsync()).GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await gateway.Client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(1, upstream.CountOf("/settle"));
        release.SetResult();
        using var firstResponse = await first;
        Assert.Equal(Settled, await firstResponse.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Start_Defaults_ShutdownTimeoutLongerThanTheLongestSettle()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        var shutdown = gateway.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
        var policy = gateway.Services.GetRequiredService<SettlementPolicy>();

        // One SettleTimeoutMs (30 s) plus quick refusals is the longest a settle runs; the drain and the host wait longer.
        Assert.Equal(TimeSpan.FromSeconds(40), policy.LongestSettle);
        Assert.True(policy.Drain > policy.LongestSettle);
        Assert.True(shutdown > policy.Drain);
    }
}
