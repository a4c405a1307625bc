using System.Net;
using System.Text.Json;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// Every payment produces events, whichever API it came through, from real verifies and settles through a fake
/// upstream on loopback: each carries the payment's facts and the id <c>/v1</c> gives the same authorization.
/// </summary>
public sealed class PaymentEventTests
{
    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream, EventStreamClient Client)> StartAsync(
        Action<Dictionary<string, string?>>? configure = null)
    {
        var upstream = await UpstreamAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        configure?.Invoke(settings);
        var gateway = await GatewayHost.StartAsync(settings);
        var client = await EventStreamClient.ConnectAsync(gateway);
        await client.NextAsync("connected");
        return (gateway, upstream, client);
    }

    internal static void AssertFacts(JsonElement data, int payer, string? paymentId = null)
    {
        if (paymentId is not null)
        {
            Assert.Equal(paymentId, data.GetProperty("paymentId").GetString());
        }

        Assert.True(Guid.TryParseExact(data.GetProperty("paymentId").GetString(), "D", out _));
        Assert.Equal("eip155:84532", data.GetProperty("network").GetString());
        Assert.Equal(PaymentSigner.CreatePayer(payer).Address, data.GetProperty("payer").GetString());
        Assert.Equal(PaymentSigner.PayTo, data.GetProperty("payee").GetString());
        Assert.Equal("1.5", data.GetProperty("amount").GetString());
        Assert.Equal("1500000", data.GetProperty("amountAtomic").GetString());
        Assert.Equal(PaymentSigner.BaseSepoliaUsdc, data.GetProperty("asset").GetString());
        Assert.Equal(JsonValueKind.Number, data.GetProperty("timestamp").ValueKind);
    }

    /// <summary>After this, every frame published before it was offered to the client's queue has arrived.</summary>
    internal static async Task SettledAsync(EventStreamClient client)
    {
        var pongs = client.OfType("pong").Count;
        await client.SendAsync("""{"type":"ping"}""");
        await client.NextAsync("pong", index: pongs);
    }

    [Fact]
    public async Task X402Verify_Valid_ReceivedThenVerified_WithTheFactsAndTheV1PaymentId()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;
        var payment = Payment(501, 1);

        using var response = await gateway.PostAsync("/verify", payment);
        var received = await client.NextAsync("payment:received");
        var verified = await client.NextAsync("payment:verified");
        var v1Id = await VerifiedIdAsync(gateway, payment);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertFacts(received.GetProperty("data"), 501, v1Id);
        Assert.Equal("verify", received.GetProperty("data").GetProperty("operation").GetString());
        AssertFacts(verified.GetProperty("data"), 501, v1Id);
        Assert.Equal("only", verified.GetProperty("data").GetProperty("verifiedBy").GetString());
        Assert.True(verified.GetProperty("data").GetProperty("verificationTime").GetDouble() >= 0);
        Assert.Equal("USDC", verified.GetProperty("data").GetProperty("symbol").GetString());
    }

    [Fact]
    public async Task X402Verify_V1Request_NetworkAsCaip2_AmountInTokenUnits()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;

        using var response = await gateway.PostAsync("/verify", PaymentSigner.ValidNow(1, seed: 509));
        var verified = (await client.NextAsync("payment:verified")).GetProperty("data");

        Assert.Equal("eip155:84532", verified.GetProperty("network").GetString());
        Assert.Equal("0.01", verified.GetProperty("amount").GetString());
        Assert.Equal("10000", verified.GetProperty("amountAtomic").GetString());
        Assert.Equal(PaymentSigner.CreatePayer(509).Address, verified.GetProperty("payer").GetString());
    }

    [Fact]
    public async Task X402Settle_ThenReplayed_OneSettledEventWithTransactionFeeAndTime()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;
        var payment = Payment(502, 1);

        using var first = await gateway.PostAsync("/settle", payment);
        var settled = await client.NextAsync("payment:settled");
        using var replay = await gateway.PostAsync("/settle", payment);
        await client.NextAsync("payment:received", index: 1);
        await SettledAsync(client);

        Assert.Equal("replayed", Responses.Header(replay, "X-Facilitator-Settlement"));
        var data = settled.GetProperty("data");
        AssertFacts(data, 502, client.OfType("payment:received")[0].GetProperty("data").GetProperty("paymentId").GetString());
        Assert.Equal("0xfeed", data.GetProperty("transaction").GetString());
        Assert.Equal("0.0015", data.GetProperty("fee").GetString());
        Assert.Equal("only", data.GetProperty("settledBy").GetString());
        Assert.True(data.GetProperty("settlementTime").GetDouble() >= 0);
        Assert.Single(client.OfType("payment:settled"));
        Assert.Empty(client.OfType("payment:failed"));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task X402Verify_UpstreamFindsItInvalid_FailedWithItsReasonAndWhoJudged()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;
        upstream.Answer("/verify", 200, """{"isValid":false,"invalidReason":"insufficient_funds"}""");

        using var response = await gateway.PostAsync("/verify", Payment(503, 1));
        var failed = (await client.NextAsync("payment:failed")).GetProperty("data");

        AssertFacts(failed, 503);
        Assert.Equal("insufficient_funds", failed.GetProperty("error").GetString());
        Assert.Equal("only", failed.GetProperty("judgedBy").GetString());
        Assert.Equal("verify", failed.GetProperty("operation").GetString());
        Assert.Empty(client.OfType("payment:verified"));
    }

    [Fact]
    public async Task X402Verify_LocallyInvalid_FailedJudgedLocallyWithoutAnUpstreamCall()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;

        using var response = await gateway.PostAsync("/verify", Payment(504, 1, validBefore: Now - 10));
        var failed = (await client.NextAsync("payment:failed")).GetProperty("data");

        Assert.Equal("invalid_exact_evm_payload_authorization_valid_before", failed.GetProperty("error").GetString());
        Assert.Equal("local", failed.GetProperty("judgedBy").GetString());
        Assert.Equal(0, upstream.CountOf("/verify"));
        Assert.Single(client.OfType("payment:received"));
    }

    [Fact]
    public async Task X402Settle_UpstreamRefuses_FailedWithItsReason()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;
        upstream.Answer("/settle", 200, """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"}""");

        using var response = await gateway.PostAsync("/settle", Payment(505, 1));
        var failed = (await client.NextAsync("payment:failed")).GetProperty("data");
        await SettledAsync(client);

        Assert.Equal("settle", failed.GetProperty("operation").GetString());
        Assert.Equal("insufficient_funds", failed.GetProperty("error").GetString());
        Assert.Empty(client.OfType("payment:settled"));
    }

    [Fact]
    public async Task V1VerifyThenSettle_ReceivedVerifiedReceivedSettled_OnePaymentId()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;

        var id = await VerifiedIdAsync(gateway, Payment(506, 1));
        using var settle = await SettleAsync(gateway, id);
        var settled = (await client.NextAsync("payment:settled")).GetProperty("data");
        using var again = await SettleAsync(gateway, id);
        await client.NextAsync("payment:received", index: 2);
        await SettledAsync(client);

        var types = client.Messages.Select(EventStreamClient.TypeOf).Where(t => t!.StartsWith("payment:", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["payment:received", "payment:verified", "payment:received", "payment:settled", "payment:received"], types);
        AssertFacts(settled, 506, id);
        AssertFacts(client.OfType("payment:verified")[0].GetProperty("data"), 506, id);
        Assert.Equal("settle", client.OfType("payment:received")[1].GetProperty("data").GetProperty("operation").GetString());
    }

    [Fact]
    public async Task V1Verify_LocallyInvalid_FailedWithTheSeedsCode()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;

        using var response = await gateway.PostAsync("/v1/verify", Payment(507, 1, validBefore: Now - 10));
        var failed = (await client.NextAsync("payment:failed")).GetProperty("data");

        Assert.Equal(410, (int)response.StatusCode);
        Assert.Equal("EXPIRED_PROOF", failed.GetProperty("error").GetString());
        Assert.Equal("local", failed.GetProperty("judgedBy").GetString());
    }

    [Fact]
    public async Task X402SettleAndV1Settle_OneAuthorization_OneSettledEvent()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;
        var payment = Payment(508, 1);

        var id = await VerifiedIdAsync(gateway, payment);
        using var x402 = await gateway.PostAsync("/settle", payment);
        await client.NextAsync("payment:settled");
        using var v1 = await SettleAsync(gateway, id);
        await client.NextAsync("payment:received", index: 2);
        await SettledAsync(client);

        Assert.Equal("settled", (await JsonOf(v1)).GetProperty("status").GetString());
        Assert.Single(client.OfType("payment:settled"));
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task Verify_NoEip3009Payment_NoPaymentEvents()
    {
        var (gateway, upstream, client) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var ___ = client;
        var solana = """{"x402Version":2,"paymentPayload":{"x402Version":2,"accepted":{"scheme":"exact","network":"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"},"payload":{"transaction":"AQID"}},"paymentRequirements":{"scheme":"exact","network":"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp","amount":"1000","asset":"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v","payTo":"9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin","maxTimeoutSeconds":60}}""";

        using var response = await gateway.PostAsync("/verify", solana);
        await SettledAsync(client);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(client.Messages, m => EventStreamClient.TypeOf(m)!.StartsWith("payment:", StringComparison.Ordinal));
    }
}
