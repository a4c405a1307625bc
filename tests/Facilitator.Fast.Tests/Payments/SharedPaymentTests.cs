using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>Two instances sharing a real <c>redis-server</c>: one payment record, one settlement, whichever instance is asked.</summary>
public sealed class SharedPaymentTests
{
    [Fact]
    public async Task VerifyOnA_SettleOnB_StatusOnBoth()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        var id = await VerifiedIdAsync(a, Payment(401, 1));
        using (var onB = await b.Client.GetAsync($"/v1/status/{id}"))
        {
            Assert.Equal("verified", (await JsonOf(onB)).GetProperty("payment").GetProperty("status").GetString());
        }

        using var settled = await SettleAsync(b, id);
        Assert.Equal("settled", (await JsonOf(settled)).GetProperty("status").GetString());
        foreach (var gateway in new[] { a, b })
        {
            using var status = await gateway.Client.GetAsync($"/v1/status/{id}");
            var payment = (await JsonOf(status)).GetProperty("payment");
            Assert.Equal("settled", payment.GetProperty("status").GetString());
            Assert.Equal("0xfeed", payment.GetProperty("transaction").GetString());
        }

        Assert.Equal(1, upstream.CountOf("/verify"));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_HundredConcurrentCallsOverTwoInstances_OneUpstreamSettle()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var id = await VerifiedIdAsync(a, Payment(402, 1));

        var calls = Enumerable.Range(0, 100).Select(i => SettleAsync(i % 2 == 0 ? a : b, id)).ToArray();
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the settle reaches the upstream");
        release.SetResult();
        var responses = await Task.WhenAll(calls);

        var statuses = new List<string?>();
        foreach (var response in responses)
        {
            statuses.Add((await JsonOf(response)).GetProperty("status").GetString());
            response.Dispose();
        }

        Assert.All(statuses, static s => Assert.Equal("settled", s));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Verify_SameAuthorizationOnBothInstances_OnePaymentId()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        var onA = await VerifiedIdAsync(a, Payment(403, 1));
        var onB = await VerifiedIdAsync(b, Payment(403, 1));
        using var reuse = await b.PostAsync("/v1/verify", Payment(403, 1, "99000000"));

        Assert.Equal(onA, onB);
        Assert.Equal(HttpStatusCode.BadRequest, reuse.StatusCode);
        Assert.Equal("INVALID_PROOF", (await JsonOf(reuse)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task AutoSettle_TwoInstances_EveryPaymentSettledOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamAsync();
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Payments:AutoSettle"] = "true";
        settings["Payments:AutoSettleDelayMs"] = "0";
        settings["Payments:SweepIntervalMs"] = "50";
        settings["Payments:BatchSize"] = "4";
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        var ids = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            ids.Add(await VerifiedIdAsync(i % 2 == 0 ? a : b, Payment(404, i)));
        }

        await Eventually.TrueAsync(
            async () =>
            {
                foreach (var id in ids)
                {
                    using var status = await a.Client.GetAsync($"/v1/status/{id}");
                    if ((await JsonOf(status)).GetProperty("payment").GetProperty("status").GetString() != "settled")
                    {
                        return false;
                    }
                }

                return true;
            },
            "every payment is settled automatically",
            timeoutMs: 30_000);

        // Settling one by hand afterwards changes nothing.
        using var byHand = await SettleAsync(b, ids[0]);
        Assert.Equal("settled", (await JsonOf(byHand)).GetProperty("status").GetString());
        Assert.Equal(20, upstream.CountOf("/settle"));
        Assert.Equal(20, upstream.Received.Where(static r => r.Path == "/settle").Select(static r => r.BodyText).Distinct().Count());
    }
}
