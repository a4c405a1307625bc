using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>One authorization is settled once: shared in-flight calls, replayed answers, sticky pending settlements.</summary>
public sealed class SettlementCoordinatorTests
{
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";

    [Fact]
    public async Task Settle_100ConcurrentIdentical_OneUpstreamCallAndEveryoneGetsItsAnswer()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(300), 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payment = PaymentSigner.ValidNow(2, seed: 21);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => gateway.PostAsync("/settle", payment)));

        Assert.Equal(1, upstream.CountOf("/settle"));
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Settled, await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Settle_RepeatAfterFinished_ReplayedWithoutUpstreamCall()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payment = PaymentSigner.ValidNow(1, seed: 22);
        var payer = PaymentSigner.CreatePayer(22).Address;

        (await gateway.PostAsync("/settle", payment)).Dispose();

        // The same authorization with the payer's address written in upper case is the same settlement.
        using var repeat = await gateway.PostAsync("/settle", payment.Replace(payer, "0x" + payer[2..].ToUpperInvariant(), StringComparison.Ordinal));

        Assert.Equal(Settled, await repeat.Content.ReadAsStringAsync());
        Assert.Equal("replayed", Header(repeat, "X-Facilitator-Settlement"));
        Assert.Equal("only", Header(repeat, "X-Facilitator-Upstream"));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_DifferentAuthorizations_EachSettled()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        (await gateway.PostAsync("/settle", PaymentSigner.ValidNow(2, seed: 23, nonceSeed: 1))).Dispose();
        (await gateway.PostAsync("/settle", PaymentSigner.ValidNow(2, seed: 23, nonceSeed: 2))).Dispose();

        Assert.Equal(2, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_RepeatAfterPending_GoesToTheSameUpstreamOnlyEvenWhenUnhealthy()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(2, seed: 24);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        using (var second = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
            Assert.Equal("primary", Header(second, "X-Facilitator-Upstream"));
        }

        Assert.Equal(2, primary.CountOf("/settle"));
        Assert.Equal(0, secondary.CountOf("/settle"));

        primary.Answer("/settle", 200, Settled);
        using (var third = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(Settled, await third.Content.ReadAsStringAsync());
            Assert.Equal("primary", Header(third, "X-Facilitator-Upstream"));
        }

        using var replay = await gateway.PostAsync("/settle", payment);
        Assert.Equal("replayed", Header(replay, "X-Facilitator-Settlement"));
        Assert.Equal(3, primary.CountOf("/settle"));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_NoUpstreamReached_ReleasedSoARepeatTriesAgain()
    {
        using var down = new RefusingEndpoint();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("down", down.Url)));
        var payment = PaymentSigner.ValidNow(1, seed: 25);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        }

        using var second = await gateway.PostAsync("/settle", payment);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Null(Header(second, "X-Facilitator-Settlement"));
        Assert.Equal("2", Header(second, "X-Facilitator-Attempts"));
    }

    [Fact]
    public async Task Settle_RepeatAfterItSettledButNowNearExpiry_ReplayedNotRejectedLocally()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var time = new ManualTimeProvider();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:Mode"] = "enforce";
        await using var gateway = await GatewayHost.StartAsync(settings, time);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(26), 2, now - 600, now + 300);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
        }

        time.Advance(TimeSpan.FromSeconds(298));
        using var repeat = await gateway.PostAsync("/settle", payment);

        Assert.Equal(Settled, await repeat.Content.ReadAsStringAsync());
        Assert.Equal("replayed", Header(repeat, "X-Facilitator-Settlement"));
        Assert.Equal("invalid", Header(repeat, "X-Facilitator-Local-Verdict"));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_ConcurrentRepeatsOfAPendingSettlement_OneRetryAtATimeOnTheHolder()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(2, seed: 27);
        (await gateway.PostAsync("/settle", payment)).Dispose();

        primary.AnswerLate("/settle", TimeSpan.FromMilliseconds(200), 200, Settled);
        var repeats = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => gateway.PostAsync("/settle", payment)));

        Assert.Equal(2, primary.CountOf("/settle"));
        Assert.Equal(0, secondary.CountOf("/settle"));
        foreach (var repeat in repeats)
        {
            Assert.Equal(Settled, await repeat.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Settle_RetryOfAPendingSettlementFails_StaysPendingNotFinished()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        var settings = GatewayHost.Upstreams(("primary", primary.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(1, seed: 28);
        (await gateway.PostAsync("/settle", payment)).Dispose();

        // The retry finds the nonce spent: that may be the first attempt's payment, so it proves nothing.
        primary.Answer("/settle", 200, """{"success":false,"errorReason":"invalid_exact_evm_nonce_already_used","transaction":"","network":"base-sepolia"}""");
        (await gateway.PostAsync("/settle", payment)).Dispose();
        primary.Answer("/settle", 200, Settled);
        using var third = await gateway.PostAsync("/settle", payment);

        Assert.Equal(Settled, await third.Content.ReadAsStringAsync());
        Assert.Equal(3, primary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_Permit2PayloadPendingThenRepeated_NeverReachesASecondUpstream()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings);
        const string Permit2 = """{"x402Version":2,"paymentPayload":{"x402Version":2,"accepted":{"scheme":"exact","network":"eip155:84532"},"payload":{"signature":"0x01","permit2Authorization":{"from":"0x3333333333333333333333333333333333333333","nonce":"7"}}},"paymentRequirements":{"scheme":"exact","network":"eip155:84532","amount":"1"}}""";

        (await gateway.PostAsync("/settle", Permit2)).Dispose();
        using var repeat = await gateway.PostAsync("/settle", Permit2);

        Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_AlreadyExpiredAuthorizationSentConcurrently_StillOneUpstreamCall()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(300), 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var expired = PaymentSigner.Request(PaymentSigner.CreatePayer(29), 2, now - 600, now - 60);

        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => gateway.PostAsync("/settle", expired)));

        Assert.Equal(1, upstream.CountOf("/settle"));
    }
}
