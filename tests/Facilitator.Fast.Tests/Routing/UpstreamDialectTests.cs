using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// Each facilitator's answers read as it means them (upstreams.md): pending settlements in CDP's, PayAI's and the
/// gateway's own shapes keep their transaction and stay with their holder; verdicts come in 200, 4xx and x402-rs's 500;
/// account errors refuse the gateway, not the payment; extension answers and Retry-After pass through.
/// </summary>
public sealed class UpstreamDialectTests
{
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";

    private static Dictionary<string, string?> TwoUpstreams(FakeFacilitator primary, FakeFacilitator secondary) =>
        GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));

    [Theory]
    [InlineData(500, """{"success":false,"errorReason":"settlement_pending","transaction":"0xcdp","network":"eip155:84532"}""", "0xcdp")]
    [InlineData(200, """{"success":false,"errorReason":"settlement_pending","transaction":"0xpayai","network":"eip155:84532"}""", "0xpayai")]
    [InlineData(200, """{"success":false,"errorReason":"settlement_pending","transaction":"","network":"solana:devnet"}""", "")]
    [InlineData(409, """{"success":false,"errorReason":"duplicate_settlement","transaction":"","network":"eip155:84532"}""", "")]
    public async Task Settle_UpstreamSaysPending_PendingWithItsTransactionAtThatUpstreamOnly(int status, string body, string transaction)
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", status, body);
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(primary, secondary));
        var payment = PaymentSigner.ValidNow(2, seed: 91, nonceSeed: status);

        using var first = await gateway.PostAsync("/settle", payment);
        using var repeat = await gateway.PostAsync("/settle", payment);

        foreach (var response in new[] { first, repeat })
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var answer = Json(await response.Content.ReadAsStringAsync());
            Assert.Equal("settlement_pending", answer.GetProperty("errorReason").GetString());
            Assert.Equal(transaction, answer.GetProperty("transaction").GetString());
            Assert.Equal("primary", Header(response, "X-Facilitator-Upstream"));
        }

        Assert.Equal(0, secondary.CountOf("/settle"));
        var facilitators = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health")).GetProperty("health").GetProperty("facilitators");
        Assert.True(facilitators[0].GetProperty("isHealthy").GetBoolean());
    }

    [Fact]
    public async Task Settle_PendingAtTheHolder_ReconciledByAskingItAgainUntilItAnswers()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Sequence(
            "/settle",
            2,
            static context => FakeFacilitator.WriteAsync(context, 200, """{"success":false,"errorReason":"settlement_pending","transaction":"0xfeed","network":"eip155:84532"}"""),
            static context => FakeFacilitator.WriteAsync(context, 200, Settled));
        var settings = TwoUpstreams(primary, secondary);
        settings["Settlement:ReconcileAfterMs"] = "200";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.ValidNow(2, seed: 92);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        await Eventually.TrueAsync(() => primary.CountOf("/settle") == 3, "the reconciler asks the holder again until it answers");
        await Eventually.TrueAsync(async () =>
        {
            using var repeat = await gateway.PostAsync("/settle", payment);
            return await repeat.Content.ReadAsStringAsync() == Settled && Header(repeat, "X-Facilitator-Settlement") == "replayed";
        }, "the outcome is recorded");

        Assert.All(primary.Received.Where(static r => r.Path == "/settle"), request => Assert.Equal(payment, request.BodyText));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_X402RsFailsOnChainWith500AndAReason_FinishedFailureNotPending()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        const string Failed = """{"success":false,"errorReason":"invalid_exact_evm_payload_signature","transaction":"","network":"base-sepolia"}""";
        primary.Answer("/settle", 500, Failed);
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(primary, secondary));

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(Failed, await response.Content.ReadAsStringAsync());
        Assert.Equal(0, secondary.CountOf("/settle"));
        var facilitators = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health")).GetProperty("health").GetProperty("facilitators");
        Assert.True(facilitators[0].GetProperty("isHealthy").GetBoolean());
    }

    [Theory]
    [InlineData("""{"success":false,"errorReason":"unexpected_settle_error","transaction":"","network":"base-sepolia"}""")]
    [InlineData("""{"error":"internal"}""")]
    public async Task Settle_500WithoutADefiniteReason_PendingNotAVerdict(string body)
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", 500, body);
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(primary, secondary));

        using var response = await gateway.PostAsync("/settle", TestPayments.V1);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_CdpAccountNeedsAPaymentMethod_RefusedUsSoTheNextUpstreamSettles()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", 402, """{"errorType":"payment_method_required","errorMessage":"Add a payment method to your account."}""");
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(primary, secondary));

        using var response = await gateway.PostAsync("/settle", TestPayments.V2);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
    }

    [Fact]
    public async Task VerifyAndSettle_UpstreamAnswersExtensionResponses_PassedOnAndReplayedWithTheSettlement()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        const string Extensions = "eyJiYXphYXIiOnsic3RhdHVzIjoic3VjY2VzcyJ9fQ==";
        foreach (var (path, json) in new[] { ("/verify", """{"isValid":true}"""), ("/settle", Settled) })
        {
            upstream.On(path, async context =>
            {
                context.Response.Headers["EXTENSION-RESPONSES"] = Extensions;
                context.Response.Headers["X-Upstream-Internal"] = "not for callers";
                await FakeFacilitator.WriteAsync(context, 200, json);
            });
        }

        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payment = PaymentSigner.ValidNow(2, seed: 93);

        using var verified = await gateway.PostAsync("/verify", payment);
        using var settled = await gateway.PostAsync("/settle", payment);
        using var replayed = await gateway.PostAsync("/settle", payment);

        foreach (var response in new[] { verified, settled, replayed })
        {
            Assert.Equal(Extensions, Header(response, "EXTENSION-RESPONSES"));
            Assert.False(response.Headers.Contains("X-Upstream-Internal"));
        }

        Assert.Equal("replayed", Header(replayed, "X-Facilitator-Settlement"));
    }

    [Fact]
    public async Task Verify_EveryUpstreamRateLimitsTheGateway_503WithTheSoonestRetryAfter()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.On("/verify", static context =>
        {
            context.Response.Headers.RetryAfter = "30";
            return FakeFacilitator.WriteAsync(context, 429, """{"error":"slow down"}""");
        });
        secondary.On("/verify", static context =>
        {
            context.Response.Headers.RetryAfter = "7";
            return FakeFacilitator.WriteAsync(context, 429, """{"error":"slow down"}""");
        });
        var settings = TwoUpstreams(primary, secondary);
        settings["FACILITATOR_RETRIES"] = "0";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/verify", TestPayments.V2);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("7", response.Headers.RetryAfter?.ToString());
    }
}
