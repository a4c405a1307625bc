using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Events.PaymentEventTests;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Events;

/// <summary>Channels and the seed's filters (network, payee), on payment events produced by real requests.</summary>
public sealed class EventFilterTests
{
    private const string OtherPayee = "0x1111111111111111111111111111111111111111";

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync()
    {
        var upstream = await UpstreamAsync();
        return (await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url))), upstream);
    }

    private static async Task<EventStreamClient> SubscribedAsync(GatewayHost gateway, string subscribe)
    {
        var client = await EventStreamClient.ConnectAsync(gateway);
        await client.SendAsync(subscribe);
        await client.NextAsync("subscribed");
        return client;
    }

    /// <summary>A signed Base Sepolia payment to <paramref name="payee"/> (its requirements name the same payee).</summary>
    private static string PaymentTo(string payee, int payer, int nonce) =>
        PaymentSigner.Request(PaymentSigner.CreatePayer(payer), 2, Now - 600, Now + 1200, "1500000", "1500000", nonce, payTo: payee)
            .Replace($"\"payTo\":\"{PaymentSigner.PayTo}\"", $"\"payTo\":\"{payee}\"", StringComparison.Ordinal);

    /// <summary>The same payment claimed for Base mainnet: its signature is for another chain, so it is refused locally (received, failed).</summary>
    private static string OnBase(string payment) => payment.Replace("\"network\":\"eip155:84532\"", "\"network\":\"eip155:8453\"", StringComparison.Ordinal);

    private static string[] PaymentTypes(EventStreamClient client) =>
        [.. client.Messages.Select(EventStreamClient.TypeOf).Where(t => t!.StartsWith("payment:", StringComparison.Ordinal))!];

    [Fact]
    public async Task NetworkFilter_OnlyPaymentsOfThatNetwork_V1NameOrCaip2()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var baseOnly = await SubscribedAsync(gateway, """{"type":"subscribe","channels":["payments"],"filter":{"network":"eip155:8453"}}""");
        await using var sepoliaOnly = await SubscribedAsync(gateway, """{"type":"subscribe","channels":["payments"],"filter":{"network":"base-sepolia"}}""");
        await using var everything = await EventStreamClient.ConnectAsync(gateway);

        using (await gateway.PostAsync("/verify", Payment(601, 1)))
        using (await gateway.PostAsync("/verify", OnBase(Payment(601, 2))))
        {
        }

        await everything.NextAsync("payment:failed");
        await SettledAsync(baseOnly);
        await SettledAsync(sepoliaOnly);

        Assert.Equal(["payment:received", "payment:verified", "payment:received", "payment:failed"], PaymentTypes(everything));
        Assert.Equal(["payment:received", "payment:failed"], PaymentTypes(baseOnly));
        Assert.All(baseOnly.OfType("payment:received"), m => Assert.Equal("eip155:8453", m.GetProperty("data").GetProperty("network").GetString()));
        Assert.Equal(["payment:received", "payment:verified"], PaymentTypes(sepoliaOnly));
    }

    [Fact]
    public async Task PayeeFilter_InAnotherLetterCase_MatchesThatPayeeOnly()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        var upper = "0x" + PaymentSigner.PayTo[2..].ToUpperInvariant();
        await using var merchant = await SubscribedAsync(gateway, $$$"""{"type":"subscribe","channels":["payments"],"filter":{"payee":"{{{upper}}}"}}""");
        await using var other = await SubscribedAsync(gateway, $$$"""{"type":"subscribe","channels":["payments"],"filter":{"payee":"{{{OtherPayee}}}"}}""");
        await using var everything = await EventStreamClient.ConnectAsync(gateway);

        using (await gateway.PostAsync("/verify", Payment(602, 1)))
        using (await gateway.PostAsync("/verify", PaymentTo(OtherPayee, 602, 2)))
        {
        }

        await everything.NextAsync("payment:verified", index: 1);
        await SettledAsync(merchant);
        await SettledAsync(other);

        Assert.Equal(["payment:received", "payment:verified"], PaymentTypes(merchant));
        Assert.All(merchant.Messages.Where(m => EventStreamClient.TypeOf(m)!.StartsWith("payment:", StringComparison.Ordinal)),
            m => Assert.Equal(PaymentSigner.PayTo, m.GetProperty("data").GetProperty("payee").GetString()));
        Assert.Equal(["payment:received", "payment:verified"], PaymentTypes(other));
        Assert.All(other.Messages.Where(m => EventStreamClient.TypeOf(m)!.StartsWith("payment:", StringComparison.Ordinal)),
            m => Assert.Equal(OtherPayee, m.GetProperty("data").GetProperty("payee").GetString()));
    }

    [Fact]
    public async Task Channels_UnsubscribedFromPayments_NoPaymentEvents()
    {
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;
        await using var errorsOnly = await EventStreamClient.ConnectAsync(gateway);
        await errorsOnly.SendAsync("""{"type":"unsubscribe","channels":["payments"]}""");
        await errorsOnly.NextAsync("unsubscribed");
        await errorsOnly.SendAsync("""{"type":"subscribe","channels":["errors"]}""");
        await errorsOnly.NextAsync("subscribed");
        await using var payments = await EventStreamClient.ConnectAsync(gateway);

        using (await gateway.PostAsync("/verify", Payment(603, 1)))
        {
        }

        await payments.NextAsync("payment:verified");
        await SettledAsync(errorsOnly);

        Assert.Empty(PaymentTypes(errorsOnly));
    }

    [Fact]
    public async Task ErrorsChannel_ProbesFailUntilUnhealthy_FailuresAndUnhealthy_ThenRecovered()
    {
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/supported", 503, "{}");
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["FACILITATOR_HEALTH_CHECK"] = "true";
        settings["FACILITATOR_HEALTH_CHECK_INTERVAL_MS"] = "200";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "2";
        await using var gateway = await GatewayHost.StartAsync(settings);
        await using var errors = await SubscribedAsync(gateway, """{"type":"subscribe","channels":["errors"]}""");

        var unhealthy = (await errors.NextAsync("facilitator:unhealthy")).GetProperty("data");
        var failures = (await errors.NextAsync("facilitator:failures")).GetProperty("data");
        upstream.Answer("/supported", 200, """{"kinds":[{"x402Version":2,"scheme":"exact","network":"eip155:84532"}]}""");
        var recovered = (await errors.NextAsync("facilitator:recovered")).GetProperty("data");

        Assert.Equal("only", unhealthy.GetProperty("facilitatorId").GetString());
        Assert.True(unhealthy.GetProperty("consecutiveFailures").GetInt32() >= 2);
        Assert.Contains("503", unhealthy.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("only", failures.GetProperty("facilitatorId").GetString());
        Assert.True(failures.GetProperty("failures").GetInt64() >= 1);
        Assert.False(string.IsNullOrEmpty(failures.GetProperty("instanceId").GetString()));
        Assert.Equal("only", recovered.GetProperty("facilitatorId").GetString());
        Assert.Empty(PaymentTypes(errors));
    }
}
