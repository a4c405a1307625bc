using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// Adversarial review of the payment-identifier fast path (payments whose bytes carry neither the extension's name
/// nor a backslash skip the second parse): every spelling a JSON reader takes for the same name and id still binds
/// the id, so one authorization is never answered with another's outcome nor settled twice.
/// </summary>
public sealed class PaymentIdentifierFastPathReviewTests
{
    private const string Id = "pay_fastpath_0123456789abcdef0123";
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";
    private const string Valid = """{"isValid":true,"payer":"0x0000000000000000000000000000000000000001"}""";
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>The extension as written by a client, with <paramref name="name"/>, <paramref name="info"/>, <paramref name="idKey"/> and <paramref name="id"/> spelled as given (JSON text).</summary>
    private static string Payment(int seed, int nonce, string value, string name, string info = "info", string idKey = "id", string id = Id) =>
        PaymentSigner.Request(
            PaymentSigner.CreatePayer(seed), 2, Now - 600, Now + 1200, value, value, nonce,
            extensions: "{\"" + name + "\":{\"" + info + "\":{\"required\":false,\"" + idKey + "\":\"" + id + "\"}}}");

    public static TheoryData<string, string, string, string> Spellings() => new()
    {
        { "payment-identifier", "info", "id", Id },
        { "payment\\u002didentifier", "info", "id", Id },
        { "\\u0070ayment-identifier", "info", "id", Id },
        { "payment-identifie\\u0072", "info", "id", Id },
        { "\\u0070\\u0061\\u0079\\u006d\\u0065\\u006e\\u0074\\u002d\\u0069\\u0064\\u0065\\u006e\\u0074\\u0069\\u0066\\u0069\\u0065\\u0072", "info", "id", Id },
        { "payment\\u002Didentifier", "\\u0069nfo", "\\u0069d", Id },
        { "payment\\u002didentifier", "info", "id", "\\u0070ay_fastpath_0123456789abcdef0123" },
        { "payment\\/identifier".Replace("\\/", "-", StringComparison.Ordinal), "info", "id", "pay_fastpath_0123456789abcdef\\u00301\\u00323" },
    };

    private static async Task AssertConflictAsync(HttpResponseMessage response, string field, string reason)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Conflict, $"{(int)response.StatusCode}: {text}");
        var answer = Json(text);
        Assert.Equal("payment_identifier_conflict", answer.GetProperty(reason).GetString());
        Assert.False(answer.GetProperty(field).GetBoolean());
    }

    /// <summary>Settled under the literal name; another authorization under an escaped spelling of the same id: 409, never sent.</summary>
    [Theory]
    [MemberData(nameof(Spellings))]
    public async Task Settle_SameIdEscapedInTheSecond_409AndNeverSent(string name, string info, string idKey, string id)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var first = await gateway.PostAsync("/settle", Payment(931, 1, "10000", "payment-identifier"));
        using var other = await gateway.PostAsync("/settle", Payment(931, 2, "50000000", name, info, idKey, id));

        Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
        await AssertConflictAsync(other, "success", "errorReason");
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    /// <summary>Settled under an escaped spelling; another authorization under the literal name: 409, never sent; the same bytes again are replayed.</summary>
    [Theory]
    [MemberData(nameof(Spellings))]
    public async Task Settle_SameIdEscapedInTheFirst_409AndRepeatReplayed(string name, string info, string idKey, string id)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var escaped = Payment(932, 1, "10000", name, info, idKey, id);

        using var first = await gateway.PostAsync("/settle", escaped);
        using var repeat = await gateway.PostAsync("/settle", escaped);
        using var other = await gateway.PostAsync("/settle", Payment(932, 2, "50000000", "payment-identifier"));

        Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
        Assert.Equal(Settled, await repeat.Content.ReadAsStringAsync());
        Assert.Equal("replayed", Header(repeat, "X-Facilitator-Settlement"));
        await AssertConflictAsync(other, "success", "errorReason");
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    /// <summary>Two concurrent verifies of different authorizations under one escaped id: exactly one reaches the upstream, the other gets 409.</summary>
    [Fact]
    public async Task Verify_ConcurrentEscapedSameId_OneSentOtherConflicts()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var release = upstream.Hold("/verify", 200, Valid);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        var a = gateway.PostAsync("/verify", Payment(933, 1, "10000", "payment\\u002didentifier"));
        var b = gateway.PostAsync("/verify", Payment(933, 2, "20000", "\\u0070ayment-identifier"));
        await Eventually.TrueAsync(() => upstream.CountOf("/verify") >= 1, "one verify reaches the upstream");
        release.SetResult();
        using var ra = await a;
        using var rb = await b;

        var statuses = new[] { ra.StatusCode, rb.StatusCode }.Order().ToArray();
        Assert.Equal(1, upstream.CountOf("/verify"));
        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.Contains(HttpStatusCode.Conflict, statuses);
    }

    /// <summary>
    /// A name that differs only in letter case is not the extension (JSON names are case-sensitive, as the upstreams
    /// read them): neither payment is bound, so both reach the upstream — and the escaped/literal checks above are what
    /// pins the binding.
    /// </summary>
    [Fact]
    public async Task Verify_NameInOtherCase_NotTheExtensionBothSent()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var a = await gateway.PostAsync("/verify", Payment(934, 1, "10000", "Payment-Identifier"));
        using var b = await gateway.PostAsync("/verify", Payment(934, 2, "20000", "PAYMENT-IDENTIFIER"));

        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        Assert.Null(Header(b, "X-Facilitator-Payment-Identifier"));
        Assert.Equal(2, upstream.CountOf("/verify"));
    }

    /// <summary>An escaped malformed id is still refused 400 (the escape makes the parse run), never forwarded unbound.</summary>
    [Fact]
    public async Task Verify_EscapedNameWithMalformedId_400AndNotSent()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/verify", Payment(935, 1, "10000", "payment\\u002didentifier", id: "short"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_payment_identifier", Json(await response.Content.ReadAsStringAsync()).GetProperty("invalidReason").GetString());
        Assert.Equal(0, upstream.CountOf("/verify"));
    }
}
