using System.Net;
using System.Text.Json;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>
/// The <c>/v1</c> lifecycle on one instance, against fake upstreams on loopback: verify an x402 request into a payment
/// id, settle it by id, read its status; what is refused and with which of the seed's codes.
/// </summary>
public sealed class PaymentLifecycleTests
{
    internal const string Valid = """{"isValid":true,"payer":"0x0000000000000000000000000000000000000001"}""";
    internal const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";
    internal static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A v2 payment of <paramref name="value"/> atomic units of Base Sepolia USDC by payer <paramref name="payer"/>.</summary>
    internal static string Payment(int payer, int nonce, string value = "1500000", long? validBefore = null) =>
        PaymentSigner.Request(PaymentSigner.CreatePayer(payer), 2, Now - 600, validBefore ?? Now + 1200, value, value, nonce);

    internal static async Task<JsonElement> JsonOf(HttpResponseMessage response) => Json(await response.Content.ReadAsStringAsync());

    internal static async Task<FakeFacilitator> UpstreamAsync()
    {
        var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        upstream.Answer("/settle", 200, Settled);
        return upstream;
    }

    internal static async Task<string> VerifiedIdAsync(GatewayHost gateway, string payment)
    {
        using var response = await gateway.PostAsync("/v1/verify", payment);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await JsonOf(response)).GetProperty("paymentId").GetString()!;
    }

    internal static Task<HttpResponseMessage> SettleAsync(GatewayHost gateway, string id) =>
        gateway.PostAsync("/v1/settle", $$"""{"paymentId":"{{id}}"}""");

    [Fact]
    public async Task Verify_X402Request_StoredVerifiedWithTheRecordsFields()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/v1/verify", Payment(201, 1));
        var answer = await JsonOf(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(answer.GetProperty("success").GetBoolean());
        Assert.Equal("verified", answer.GetProperty("status").GetString());
        Assert.Equal("0.0015", answer.GetProperty("fee").GetString());
        var id = answer.GetProperty("paymentId").GetString()!;
        Assert.True(Guid.TryParseExact(id, "D", out var parsed));
        Assert.Equal('8', id[14]);

        using var status = await gateway.Client.GetAsync($"/v1/status/{id}");
        var payment = (await JsonOf(status)).GetProperty("payment");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.False(payment.GetProperty("success").GetBoolean());
        Assert.Equal("verified", payment.GetProperty("status").GetString());
        Assert.Equal(PaymentSigner.CreatePayer(201).Address, payment.GetProperty("payer").GetString());
        Assert.Equal(PaymentSigner.PayTo, payment.GetProperty("payee").GetString());
        Assert.Equal("1.5", payment.GetProperty("amount").GetString());
        Assert.Equal("1500000", payment.GetProperty("amountAtomic").GetString());
        Assert.Equal("eip155:84532", payment.GetProperty("network").GetString());
        Assert.Equal("USDC", payment.GetProperty("symbol").GetString());
        Assert.Equal("only", payment.GetProperty("verifiedBy").GetString());
        Assert.Equal(Now + 1200, payment.GetProperty("validBefore").GetInt64());
        Assert.False(payment.TryGetProperty("request", out _));
        Assert.NotEqual(Guid.Empty, parsed);
    }

    [Fact]
    public async Task Verify_SameAuthorizationTwice_SamePaymentIdOneUpstreamVerify()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        var first = await VerifiedIdAsync(gateway, Payment(202, 1));
        var second = await VerifiedIdAsync(gateway, Payment(202, 1));

        Assert.Equal(first, second);
        Assert.Equal(1, upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task Verify_AnotherAuthorizationReusingTheNonce_RefusedInvalidProof()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        await VerifiedIdAsync(gateway, Payment(203, 1, "10000"));
        using var fifty = await gateway.PostAsync("/v1/verify", Payment(203, 1, "50000000"));

        Assert.Equal(HttpStatusCode.BadRequest, fifty.StatusCode);
        Assert.Equal("INVALID_PROOF", (await JsonOf(fifty)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(1, upstream.CountOf("/verify"));
    }

    [Theory]
    [InlineData("insufficient_funds", 402, "INSUFFICIENT_AMOUNT")]
    [InlineData("invalid_exact_evm_payload_signature", 400, "INVALID_SIGNATURE")]
    [InlineData("invalid_exact_evm_payload_recipient_mismatch", 422, "REQUIREMENTS_NOT_MET")]
    [InlineData("something_else", 400, "INVALID_PROOF")]
    public async Task Verify_UpstreamFindsItInvalid_NotStoredAndTheSeedsCode(string reason, int status, string code)
    {
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/verify", 200, $$"""{"isValid":false,"invalidReason":"{{reason}}"}""");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/v1/verify", Payment(204, 1));
        upstream.Answer("/verify", 200, Valid);
        using var again = await gateway.PostAsync("/v1/verify", Payment(204, 1));

        Assert.Equal(status, (int)response.StatusCode);
        var error = (await JsonOf(response)).GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Contains(reason, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(2, upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task Verify_LocallyInvalid_SeedsCodeWithoutAnUpstreamCall()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var tampered = Payment(205, 2).Replace("\"value\":\"1500000\"", "\"value\":\"1500001\"", StringComparison.Ordinal)
            .Replace("\"amount\":\"1500000\"", "\"amount\":\"1500001\"", StringComparison.Ordinal);

        using var expired = await gateway.PostAsync("/v1/verify", Payment(205, 3, validBefore: Now - 10));
        using var badSignature = await gateway.PostAsync("/v1/verify", tampered);

        Assert.Equal(410, (int)expired.StatusCode);
        Assert.Equal("EXPIRED_PROOF", (await JsonOf(expired)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(400, (int)badSignature.StatusCode);
        Assert.Equal("INVALID_SIGNATURE", (await JsonOf(badSignature)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(0, upstream.CountOf("/verify"));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"x402Version":2}""")]
    [InlineData("""{"x402Version":2,"proof":{}}""")]
    public async Task Verify_NotAPayment_400ValidationError(string body)
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/v1/verify", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var answer = await JsonOf(response);
        Assert.Equal("VALIDATION_ERROR", answer.GetProperty("error").GetProperty("code").GetString());
        Assert.True(answer.TryGetProperty("requestId", out _));
        Assert.True(answer.TryGetProperty("timestamp", out _));
    }

    [Fact]
    public async Task Settle_ById_SettledThenReturnedAsItIs()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var id = await VerifiedIdAsync(gateway, Payment(206, 1));

        using var settled = await SettleAsync(gateway, id);
        using var again = await SettleAsync(gateway, id);
        using var status = await gateway.Client.GetAsync($"/v1/status/{id}");

        var answer = await JsonOf(settled);
        Assert.Equal(HttpStatusCode.OK, settled.StatusCode);
        Assert.True(answer.GetProperty("success").GetBoolean());
        Assert.Equal("settled", answer.GetProperty("status").GetString());
        Assert.Equal("0xfeed", answer.GetProperty("transaction").GetString());
        Assert.Equal("only", answer.GetProperty("payment").GetProperty("settledBy").GetString());
        Assert.True(answer.GetProperty("payment").GetProperty("settledAt").GetInt64() > 0);
        Assert.Equal("settled", (await JsonOf(again)).GetProperty("status").GetString());
        Assert.Equal("settled", (await JsonOf(status)).GetProperty("payment").GetProperty("status").GetString());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_UpstreamRefuses_FailedWithTheReasonAndNotSentAgain()
    {
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/settle", 200, """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"}""");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var id = await VerifiedIdAsync(gateway, Payment(207, 1));

        using var failed = await SettleAsync(gateway, id);
        using var again = await SettleAsync(gateway, id);

        var answer = await JsonOf(failed);
        Assert.False(answer.GetProperty("success").GetBoolean());
        Assert.Equal("failed", answer.GetProperty("status").GetString());
        Assert.Equal("insufficient_funds", answer.GetProperty("error").GetString());
        Assert.Equal("failed", (await JsonOf(again)).GetProperty("status").GetString());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_UpstreamPending_SettlingNamingItThenRetriedOnlyThere()
    {
        await using var first = await UpstreamAsync();
        await using var second = await UpstreamAsync();
        first.Answer("/settle", 500, """{"success":false,"errorReason":"settlement_pending","transaction":"0xabc","network":"eip155:84532"}""");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("first", first.Url), ("second", second.Url)));
        var id = await VerifiedIdAsync(gateway, Payment(208, 1));

        using var pending = await SettleAsync(gateway, id);
        var answer = await JsonOf(pending);
        Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        Assert.Equal("settling", answer.GetProperty("status").GetString());
        Assert.Equal("first", answer.GetProperty("upstream").GetString());
        Assert.Equal("0xabc", answer.GetProperty("transaction").GetString());

        first.Answer("/settle", 200, Settled);
        await Eventually.TrueAsync(
            async () =>
            {
                using var retry = await SettleAsync(gateway, id);
                return (await JsonOf(retry)).GetProperty("status").GetString() == "settled";
            },
            "a later settle asks the upstream that holds it and learns it settled");

        Assert.Equal(0, second.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_AllUpstreamsDown_503AndStillVerified()
    {
        using var down = new RefusingEndpoint();
        var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("up", upstream.Url), ("down", down.Url)));
        var id = await VerifiedIdAsync(gateway, Payment(209, 1));
        await upstream.DisposeAsync();

        using var response = await SettleAsync(gateway, id);
        using var status = await gateway.Client.GetAsync($"/v1/status/{id}");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("UPSTREAM_UNAVAILABLE", (await JsonOf(response)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("verified", (await JsonOf(status)).GetProperty("payment").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Settle_HundredConcurrentCallsOfOneId_OneUpstreamSettleEveryCallerSettled()
    {
        await using var upstream = await UpstreamAsync();
        var release = upstream.Hold("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var id = await VerifiedIdAsync(gateway, Payment(210, 1));

        var calls = Enumerable.Range(0, 100).Select(_ => SettleAsync(gateway, id)).ToArray();
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the settle reaches the upstream");
        release.SetResult();
        var responses = await Task.WhenAll(calls);

        foreach (var response in responses)
        {
            Assert.Equal("settled", (await JsonOf(response)).GetProperty("status").GetString());
            response.Dispose();
        }

        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_AfterTheSameAuthorizationSettledThroughX402_SettledOnce()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payment = Payment(211, 1);
        var id = await VerifiedIdAsync(gateway, payment);

        using var x402 = await gateway.PostAsync("/settle", payment);
        using var v1 = await SettleAsync(gateway, id);

        Assert.Equal(Settled, await x402.Content.ReadAsStringAsync());
        var answer = await JsonOf(v1);
        Assert.Equal("settled", answer.GetProperty("status").GetString());
        Assert.Equal("0xfeed", answer.GetProperty("transaction").GetString());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Settle_Expired_410WithoutAnUpstreamCall()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)), time);
        // From this test's own clock: the class's Now is taken when another test first touches the class, maybe minutes ago.
        var id = await VerifiedIdAsync(gateway, Payment(212, 1, validBefore: time.GetUtcNow().ToUnixTimeSeconds() + 120));

        time.Advance(TimeSpan.FromSeconds(200));
        using var response = await SettleAsync(gateway, id);
        using var status = await gateway.Client.GetAsync($"/v1/status/{id}");

        Assert.Equal(410, (int)response.StatusCode);
        Assert.Equal("EXPIRED_PROOF", (await JsonOf(response)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("expired", (await JsonOf(status)).GetProperty("payment").GetProperty("status").GetString());
        Assert.Equal(0, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Status_VerifiedPastValidBefore_Expired()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)), time);
        // From this test's own clock: the class's Now is taken when another test first touches the class, maybe minutes ago.
        var id = await VerifiedIdAsync(gateway, Payment(213, 1, validBefore: time.GetUtcNow().ToUnixTimeSeconds() + 120));

        time.Advance(TimeSpan.FromSeconds(121));
        using var status = await gateway.Client.GetAsync($"/v1/status/{id}");

        Assert.Equal("expired", (await JsonOf(status)).GetProperty("payment").GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("""{"paymentId":"not-a-uuid"}""", 400, "VALIDATION_ERROR")]
    [InlineData("""{"paymentId":42}""", 400, "VALIDATION_ERROR")]
    [InlineData("""{}""", 400, "VALIDATION_ERROR")]
    [InlineData("""{"paymentId":"0192f3c4-5e6f-8a7b-9c8d-0e1f2a3b4c5d"}""", 404, "NOT_FOUND")]
    public async Task Settle_BadOrUnknownId_4xx(string body, int status, string code)
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/v1/settle", body);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, (await JsonOf(response)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Status_UnknownAndMalformedIds_404FoundFalseAnd400()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var unknown = await gateway.Client.GetAsync("/v1/status/0192f3c4-5e6f-8a7b-9c8d-0e1f2a3b4c5d");
        using var malformed = await gateway.Client.GetAsync("/v1/status/../../etc");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.False((await JsonOf(unknown)).GetProperty("found").GetBoolean());
        Assert.True((int)malformed.StatusCode is 400 or 404);
    }

    [Fact]
    public async Task Root_SaysWhereEverythingIs()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.Client.GetAsync("/");
        var answer = await JsonOf(response);

        Assert.Equal("/health", answer.GetProperty("health").GetString());
        Assert.Equal("/v1", answer.GetProperty("api").GetString());
        Assert.Equal("/ws", answer.GetProperty("websocket").GetString());
        Assert.Equal("1.0.0", answer.GetProperty("version").GetString());
    }
}
