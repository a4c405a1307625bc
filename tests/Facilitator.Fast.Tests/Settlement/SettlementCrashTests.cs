using System.Net;
using System.Net.Sockets;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// An instance killed (<c>kill -9</c>) between claiming a settlement and hearing its upstream's answer: the claim
/// named the upstream before the request left, so another instance answers pending at that upstream and, once the
/// dead owner's lease lapses, asks that upstream alone again.
/// </summary>
public sealed class SettlementCrashTests
{
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";

    [Fact]
    public async Task Settle_OwnerKilledBeforeTheUpstreamAnswered_PendingAtThatUpstreamThenRetriedOnlyThere()
    {
        RepositoryPaths.RequireFreshAotBinary();
        await using var redis = await RedisServer.StartAsync();
        await using var named = await FakeFacilitator.StartAsync();
        await using var other = await FakeFacilitator.StartAsync();
        named.Sequence(
            "/settle",
            1,
            static async context => await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(static _ => { }),
            static context => FakeFacilitator.WriteAsync(context, 200, Settled));
        var prefix = $"test-{Guid.NewGuid():N}:";
        var port = LoopbackPorts.Free();
        var payment = PaymentSigner.ValidNow(2, seed: 71);

        using (var owner = ProcessRunner.Start(RepositoryPaths.AotBinary, [], Path.GetDirectoryName(RepositoryPaths.AotBinary)!, new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Upstreams__0__Id"] = "named",
            ["Upstreams__0__Url"] = named.Url,
            ["Upstreams__1__Id"] = "other",
            ["Upstreams__1__Url"] = other.Url,
            ["Redis__ConnectionString"] = redis.ConnectionString,
            ["Redis__KeyPrefix"] = prefix,
            ["Settlement__LeaseMs"] = "3000",
            ["FACILITATOR_HEALTH_CHECK"] = "false",
            ["RateLimit__Enabled"] = "false",
            ["Logging__LogLevel__Default"] = "Warning",
        }))
        {
            owner.BeginOutputReadLine();
            owner.BeginErrorReadLine();
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
            await Eventually.TrueAsync(async () => await LiveAsync(client), "the owner instance answers", timeoutMs: 20_000);
            _ = client.PostAsync("/settle", new StringContent(payment, Encoding.UTF8, "application/json"));
            await Eventually.TrueAsync(() => named.CountOf("/settle") == 1, "the owner's settle reaches the named upstream");

            owner.Kill();
            await owner.WaitForExitAsync();
        }

        var settings = GatewayHost.Upstreams(("named", named.Url), ("other", other.Url));
        settings["Redis:ConnectionString"] = redis.ConnectionString;
        settings["Redis:KeyPrefix"] = prefix;
        settings["Settlement:WaitMs"] = "500";
        await using var survivor = await GatewayHost.StartAsync(settings);

        using (var repeat = await survivor.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
            Assert.Equal("settlement_pending", Json(await repeat.Content.ReadAsStringAsync()).GetProperty("errorReason").GetString());
            Assert.Equal("named", Header(repeat, "X-Facilitator-Upstream"));
        }

        Assert.Equal(1, named.CountOf("/settle"));
        await Eventually.TrueAsync(
            async () =>
            {
                using var retry = await survivor.PostAsync("/settle", payment);
                return await retry.Content.ReadAsStringAsync() == Settled;
            },
            "the lapsed claim is retried at the named upstream",
            timeoutMs: 20_000);

        Assert.Equal(2, named.CountOf("/settle"));
        Assert.Equal(0, other.CountOf("/settle"));
    }

    private static async Task<bool> LiveAsync(HttpClient client)
    {
        try
        {
            using var response = await client.GetAsync("/health/live");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
