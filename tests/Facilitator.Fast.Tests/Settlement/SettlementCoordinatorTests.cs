using System.Net;
using System.Text.RegularExpressions;
using Facilitator.Fast.State;
using Microsoft.Extensions.DependencyInjection;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>One authorization is settled once: shared in-flight calls, replayed answers, sticky pending settlements.</summary>
public sealed partial class SettlementCoordinatorTests
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
    public async Task Settle_RepeatOfAPendingSettlementWhileItsHolderIsDown_StillPendingNeverFailed()
    {
        var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(2, seed: 30);
        (await gateway.PostAsync("/settle", payment)).Dispose();

        await primary.DisposeAsync();
        using var repeat = await gateway.PostAsync("/settle", payment);

        Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
        Assert.Equal("settlement_pending", Json(await repeat.Content.ReadAsStringAsync()).GetProperty("errorReason").GetString());
        Assert.Equal("primary", Header(repeat, "X-Facilitator-Upstream"));
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
        var settings = GatewayHost.Upstreams(("only", upstream.Url));

        // Enforce answers an expired authorization locally; this is about what reaches the upstream when it does not.
        settings["LocalVerification:Mode"] = "off";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var expired = PaymentSigner.Request(PaymentSigner.CreatePayer(29), 2, now - 600, now - 60);

        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => gateway.PostAsync("/settle", expired)));

        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    private const string NonceReused = "invalid_exact_evm_nonce_already_used";

    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>An authorization of <paramref name="value"/> (and a price to match) with the payer's nonce number <paramref name="nonce"/>.</summary>
    internal static string Authorization(int payer, string value, int nonce = 7, int x402Version = 2) =>
        PaymentSigner.Request(PaymentSigner.CreatePayer(payer), x402Version, Now - 600, Now + 1200, value, value, nonce);

    internal static async Task AssertNonceReusedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = Json(await response.Content.ReadAsStringAsync());
        Assert.False(answer.GetProperty("success").GetBoolean());
        Assert.Equal(NonceReused, answer.GetProperty("errorReason").GetString());
        Assert.Equal("", answer.GetProperty("transaction").GetString());
        Assert.Equal("refused", Header(response, "X-Facilitator-Settlement"));
    }

    [Fact]
    public async Task Settle_SecondAuthorizationReusingASettledNonce_RefusedWithoutReachingTheUpstream()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using (var cent = await gateway.PostAsync("/settle", Authorization(51, "10000")))
        {
            Assert.Equal(Settled, await cent.Content.ReadAsStringAsync());
        }

        using var fifty = await gateway.PostAsync("/settle", Authorization(51, "50000000"));

        await AssertNonceReusedAsync(fifty);
        Assert.Equal(1, upstream.CountOf("/settle"));
        using var repeat = await gateway.PostAsync("/settle", Authorization(51, "10000"));
        Assert.Equal("replayed", Header(repeat, "X-Facilitator-Settlement"));
    }

    [Fact]
    public async Task Settle_SecondAuthorizationWhileTheFirstIsInFlight_RefusedAtOnceWithoutWaiting()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        var cent = gateway.PostAsync("/settle", Authorization(52, "10000"));
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the first settle reaches the upstream");
        using (var fifty = await gateway.PostAsync("/settle", Authorization(52, "50000000")))
        {
            // Answered while the first is still held at the upstream: it did not wait on the other's claim.
            Assert.False(cent.IsCompleted);
            await AssertNonceReusedAsync(fifty);
        }

        release.SetResult();
        using var first = await cent;
        Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_SecondAuthorizationWhileTheFirstIsPending_Refused()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Hang("/settle");
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using (var cent = await gateway.PostAsync("/settle", Authorization(53, "10000")))
        {
            Assert.Equal(HttpStatusCode.Accepted, cent.StatusCode);
        }

        using var fifty = await gateway.PostAsync("/settle", Authorization(53, "50000000"));

        await AssertNonceReusedAsync(fifty);
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_ConcurrentAuthorizationsSharingANonce_OneSettledTheOthersRefused()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.AnswerLate("/settle", TimeSpan.FromMilliseconds(300), 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        string[] values = ["10000", "20000", "30000", "40000", "50000000"];

        var responses = await Task.WhenAll(values.Select(value => gateway.PostAsync("/settle", Authorization(54, value))));

        Assert.Equal(1, upstream.CountOf("/settle"));
        var settled = 0;
        foreach (var response in responses)
        {
            var text = await response.Content.ReadAsStringAsync();
            if (text == Settled)
            {
                settled++;
            }
            else
            {
                await AssertNonceReusedAsync(response);
            }
        }

        Assert.Equal(1, settled);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Settle_ForgedCopyWithTheVictimsNonceFailsOrHangs_TheVictimsSettleStillReachesTheUpstream(bool forgedHangs)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var victim = Authorization(55, "10000");
        var forged = SignatureField().Replace(victim, m => m.Value[..^3] + "\"");
        upstream.On("/settle", async context =>
        {
            if (FakeFacilitator.RequestOf(context).BodyText == forged)
            {
                if (forgedHangs)
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(static _ => { });
                    return;
                }

                await FakeFacilitator.WriteAsync(context, 400, """{"success":false,"errorReason":"invalid_exact_evm_signature","transaction":"","network":"eip155:84532"}""");
                return;
            }

            await FakeFacilitator.WriteAsync(context, 200, Settled);
        });
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using (var attack = await gateway.PostAsync("/settle", forged))
        {
            Assert.Equal("unjudged", Header(attack, "X-Facilitator-Local-Verdict"));
            Assert.Equal(forgedHangs ? HttpStatusCode.Accepted : HttpStatusCode.BadRequest, attack.StatusCode);
        }

        using var real = await gateway.PostAsync("/settle", victim);

        Assert.Equal(Settled, await real.Content.ReadAsStringAsync());
        Assert.Null(Header(real, "X-Facilitator-Settlement"));
        Assert.Equal(2, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_FailureOfAPaymentThatCouldNotBeChecked_KeptOnlyBriefly()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 400, """{"success":false,"errorReason":"invalid_exact_evm_signature","transaction":"","network":"eip155:84532"}""");
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Settlement:FailureRetentionMs"] = "5000";
        await using var gateway = await GatewayHost.StartAsync(settings, time);
        var forged = SignatureField().Replace(Authorization(56, "10000"), m => m.Value[..^3] + "\"");

        (await gateway.PostAsync("/settle", forged)).Dispose();
        using (var replayed = await gateway.PostAsync("/settle", forged))
        {
            Assert.Equal("replayed", Header(replayed, "X-Facilitator-Settlement"));
        }

        time.Advance(TimeSpan.FromSeconds(6));
        using var again = await gateway.PostAsync("/settle", forged);

        Assert.Null(Header(again, "X-Facilitator-Settlement"));
        Assert.Equal(2, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_V1ThenV2OfTheSameAuthorization_OneSettlement()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        (await gateway.PostAsync("/settle", Authorization(57, "10000", x402Version: 1))).Dispose();
        using var v2 = await gateway.PostAsync("/settle", Authorization(57, "10000", x402Version: 2));

        Assert.Equal("replayed", Header(v2, "X-Facilitator-Settlement"));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_ThirtyKilobyteFieldsInDistinctSettles_LedgerHoldsFixedSizeRecords()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 400, """{"success":false,"errorReason":"invalid_payload","transaction":"","network":"eip155:84532"}""");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var store = gateway.Services.GetRequiredService<InMemorySettlementStore>();

        for (var i = 0; i < 5; i++)
        {
            var huge = Authorization(58, "10000", nonce: i).Replace(PaymentSigner.CreatePayer(58).Address, "0x" + new string((char)('a' + i), 30_000), StringComparison.Ordinal);
            using var response = await gateway.PostAsync("/settle", huge);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Equal(5, store.Count);
        Assert.True(store.Bytes < 5 * 1024, $"{store.Bytes} bytes for five records");
    }

    [Fact]
    public async Task Settle_HostileFloodWithRateLimitsOn_InMemoryLedgerStaysUnderItsBoundAndStillSettles()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.On("/settle", context => FakeFacilitator.RequestOf(context).BodyText.Contains("\"pad\"", StringComparison.Ordinal)
            ? FakeFacilitator.WriteAsync(context, 400, """{"success":false,"errorReason":"invalid_exact_evm_signature","transaction":"","network":"eip155:84532"}""")
            : FakeFacilitator.WriteAsync(context, 200, Settled));
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:settle:Capacity"] = "2000";
        settings["RateLimit:Policies:settle:RefillPerSecond"] = "2000";
        settings["Settlement:MaxMemoryBytes"] = (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var gateway = await GatewayHost.StartAsync(settings);
        var store = gateway.Services.GetRequiredService<InMemorySettlementStore>();
        // Distinct keys: unsigned copies (64-byte signatures, forwarded unjudged) each with its own nonce, padded.
        var template = SignatureField().Replace(Authorization(59, "10000"), m => m.Value[..^3] + "\"")
            .Replace("\"x402Version\":2,\"paymentPayload\":{", "\"x402Version\":2,\"paymentPayload\":{\"pad\":\"" + new string('p', 2000) + "\",", StringComparison.Ordinal);
        var nonce = NonceField().Match(template).Value;

        var limited = 0;
        for (var batch = 0; batch < 30; batch++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
                gateway.PostAsync("/settle", template.Replace(nonce, $"\"nonce\":\"0x{batch * 100 + i:x64}\"", StringComparison.Ordinal))));
            limited += responses.Count(static r => r.StatusCode == HttpStatusCode.TooManyRequests);
            Assert.True(store.Bytes <= 1024 * 1024, $"{store.Bytes} bytes");
        }

        Assert.True(store.Evicted > 0, $"{store.Evicted} evicted, {limited} refused by the rate limit");
        using var real = await gateway.PostAsync("/settle", Authorization(60, "10000"));
        Assert.Equal(Settled, await real.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Settle_WaitingRepeatsCallerDisconnects_StopsWaitingWhileTheSettleRunsOn()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var waiters = gateway.Services.GetRequiredService<SettlementWaiters>();
        var payment = Authorization(61, "10000");
        var first = gateway.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the first settle reaches the upstream");

        using var impatient = new CancellationTokenSource();
        var repeat = gateway.Client.PostAsync("/settle", new StringContent(payment, System.Text.Encoding.UTF8, "application/json"), impatient.Token);
        await Eventually.TrueAsync(() => waiters.Count == 1, "the repeat waits for the first");
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => repeat);

        await Eventually.TrueAsync(() => waiters.Count == 0, "the repeat stops waiting once its caller is gone");
        Assert.False(first.IsCompleted);
        release.SetResult();
        using var firstResponse = await first;
        Assert.Equal(Settled, await firstResponse.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [GeneratedRegex("\"nonce\":\"0x[0-9a-f]{64}\"")]
    private static partial Regex NonceField();

    [GeneratedRegex("\"signature\":\"0x[0-9a-f]{130}\"")]
    private static partial Regex SignatureField();
}
