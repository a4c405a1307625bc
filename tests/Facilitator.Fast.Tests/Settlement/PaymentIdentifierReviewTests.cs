using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// Adversarial review (review-3) of the <c>payment-identifier</c> extension: a payer who wants goods twice for one
/// payment, a resource server whose retry is refused after the money moved, a stranger who squats or evicts ids, and
/// readers that disagree on the id. A failing test here is a defect; a passing one pins an attack that held.
/// </summary>
public sealed class PaymentIdentifierReviewTests
{
    private const string Id = "pay_review3_0123456789abcdef0123";
    private const string OtherId = "pay_review3_ffffffffffffffff0000";
    private const string Valid = """{"isValid":true,"payer":"0x0000000000000000000000000000000000000001"}""";
    private const string NonceUsed = """{"isValid":false,"invalidReason":"invalid_exact_evm_nonce_already_used","payer":"0x0000000000000000000000000000000000000001"}""";
    private const string Expired = """{"isValid":false,"invalidReason":"invalid_exact_evm_payload_authorization_valid_before","payer":"0x0000000000000000000000000000000000000001"}""";
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";
    private const string NoFunds = """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"}""";
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static string Payment(int payerSeed, int nonce, string? id = Id, long? validBefore = null, string value = "10000") =>
        PaymentSigner.Request(
            PaymentSigner.CreatePayer(payerSeed), 2, Now - 600, validBefore ?? Now + 1200, value, value, nonce,
            extensions: id is null ? null : "{\"payment-identifier\":{\"info\":{\"required\":false,\"id\":\"" + id + "\"}}}");

    private static string EscapeFirstCharacterOf(string body, string field)
    {
        var match = Regex.Match(body, "\"" + field + "\":\"(0x)?");
        Assert.True(match.Success, field);
        var at = match.Index + match.Length;
        return body[..at] + "\\u" + ((int)body[at]).ToString("x4", CultureInfo.InvariantCulture) + body[(at + 1)..];
    }

    private static async Task<bool> IsValidAsync(HttpResponseMessage response) =>
        Json(await response.Content.ReadAsStringAsync()) is var answer && answer.TryGetProperty("isValid", out var v) && v.GetBoolean();

    // ---------------------------------------------------------------------------------------------------------------
    // The payer: one payment, goods twice. A resource server that never declared payment-identifier still gets a
    // replayed isValid:true for a payload the payer tagged with an id, and the ledger then replays the settle's success.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Verified, settled, then presented again (the payer replays its X-PAYMENT): the upstream would now refuse it (its
    /// nonce is spent), but the gateway replays the first verify's isValid:true, and the following settle is replayed
    /// success by the ledger — goods twice for one payment. Without the id the second verify reaches the upstream.
    /// </summary>
    [Fact]
    public async Task Verify_AfterItsAuthorizationSettled_NotReplayedAsValid()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Sequence("/verify", 1, static c => FakeFacilitator.WriteAsync(c, 200, Valid), static c => FakeFacilitator.WriteAsync(c, 200, NonceUsed));
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payment = Payment(301, 1);

        using (var verified = await gateway.PostAsync("/verify", payment))
        {
            Assert.True(await IsValidAsync(verified));
        }

        using (var settled = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(Settled, await settled.Content.ReadAsStringAsync());
        }

        using var again = await gateway.PostAsync("/verify", payment);

        Assert.False(
            await IsValidAsync(again),
            $"a settled authorization was verified valid again (X-Facilitator-Payment-Identifier: {Header(again, "X-Facilitator-Payment-Identifier")}, upstream verifies: {upstream.CountOf("/verify")})");
    }

    /// <summary>
    /// A payment the local verifier cannot judge (one JSON escape in <c>validBefore</c>; every upstream reads it as
    /// the same number) is bound for the undated retention (1 h): ten minutes after it expired, its verify is still
    /// replayed isValid:true instead of reaching an upstream that would say it expired.
    /// </summary>
    [Fact]
    public async Task Verify_UnjudgedPaymentAfterItExpired_NotReplayedAsValid()
    {
        var time = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(Now));
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Sequence("/verify", 1, static c => FakeFacilitator.WriteAsync(c, 200, Valid), static c => FakeFacilitator.WriteAsync(c, 200, Expired));
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)), time);
        var payment = EscapeFirstCharacterOf(Payment(302, 1, validBefore: Now + 60), "validBefore");

        using (var verified = await gateway.PostAsync("/verify", payment))
        {
            Assert.Equal("unjudged", Header(verified, "X-Facilitator-Local-Verdict"));
            Assert.True(await IsValidAsync(verified));
        }

        time.Advance(TimeSpan.FromMinutes(10));
        using var later = await gateway.PostAsync("/verify", payment);

        Assert.False(
            await IsValidAsync(later),
            $"an authorization expired 9 minutes ago was verified valid (X-Facilitator-Payment-Identifier: {Header(later, "X-Facilitator-Payment-Identifier")})");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The resource server: the 409 runs before the ledger, so a request the ledger knows as the same settlement is
    // refused — after the money moved.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Settled, then the same authorization for the same price and payee is sent again by a resource server whose
    /// serializer differs by one space (another instance, another SDK). Without an id the ledger replays the success;
    /// with one the gateway answers 409 success:false, so the merchant refuses goods the payer has paid for.
    /// </summary>
    [Fact]
    public async Task Settle_SameSettlementReserialized_GetsTheLedgersSuccessNot409()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        static string Reserialized(string body) => body.Replace("\"paymentRequirements\":", "\"paymentRequirements\": ", StringComparison.Ordinal);

        // Control: the ledger alone answers the reserialized copy with the recorded success.
        var plain = Payment(303, 1, id: null);
        using (var first = await gateway.PostAsync("/settle", plain))
        using (var copy = await gateway.PostAsync("/settle", Reserialized(plain)))
        {
            Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
            Assert.Equal(Settled, await copy.Content.ReadAsStringAsync());
        }

        var tagged = Payment(303, 2);
        using (var first = await gateway.PostAsync("/settle", tagged))
        {
            Assert.Equal(Settled, await first.Content.ReadAsStringAsync());
        }

        using var retry = await gateway.PostAsync("/settle", Reserialized(tagged));

        Assert.Equal(2, upstream.CountOf("/settle"));
        Assert.True(
            retry.StatusCode == HttpStatusCode.OK && await retry.Content.ReadAsStringAsync() == Settled,
            $"a settled payment was answered {(int)retry.StatusCode} {await retry.Content.ReadAsStringAsync()}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The stranger: ids are global, not the payer's.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// A stranger who learns (or guesses) a victim's id signs a payment of its own (a valid signature from an empty
    /// wallet passes local verification) under it: the victim's settle is then refused 409 and never sent, for as long
    /// as the stranger's validBefore (up to MaxRetention, 24 h). Keying the binding by payer as well would stop it.
    /// </summary>
    [Fact]
    public async Task Settle_StrangersPaymentUnderTheVictimsId_DoesNotBlockTheVictim()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Sequence("/settle", 1, static c => FakeFacilitator.WriteAsync(c, 200, NoFunds), static c => FakeFacilitator.WriteAsync(c, 200, Settled));
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using (var squat = await gateway.PostAsync("/settle", Payment(304, 1, validBefore: Now + 86_400, value: "1")))
        {
            Assert.Equal("valid", Header(squat, "X-Facilitator-Local-Verdict"));
        }

        using var victim = await gateway.PostAsync("/settle", Payment(305, 1));

        Assert.True(
            victim.StatusCode == HttpStatusCode.OK && await victim.Content.ReadAsStringAsync() == Settled,
            $"the victim's payment was answered {(int)victim.StatusCode} {await victim.Content.ReadAsStringAsync()}");
    }

    /// <summary>
    /// The embedded store, when full, drops the bindings closest to expiry: a flood of bindings with a far validBefore
    /// (cheap /verify calls signed by the attacker's own key) evicts every live, short-lived binding of real payments,
    /// after which a different request under a victim's id is no longer a conflict (the id's protection is gone).
    /// </summary>
    [Fact]
    public async Task InMemoryStore_FloodOfLongLivedBindings_DoesNotEvictALiveBinding()
    {
        var time = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(Now));
        var store = new InMemoryPaymentIdentifierStore(time, 64 * InMemoryPaymentIdentifierStore.BindingOverheadBytes);
        var victimKey = Sha256Hash.Of("settle\nvictim-id"u8);
        var victimRequest = Sha256Hash.Of("victim's request"u8);
        await store.BindAsync(victimKey, victimRequest, TimeSpan.FromMinutes(5));

        for (var i = 0; i < 64; i++)
        {
            await store.BindAsync(Sha256Hash.Of(Encoding.ASCII.GetBytes("verify\nflood-" + i)), Sha256Hash.Of("flood"u8), TimeSpan.FromHours(24));
        }

        var later = await store.BindAsync(victimKey, Sha256Hash.Of("a re-signed request"u8), TimeSpan.FromMinutes(5));

        Assert.Equal(victimRequest, later!.Fingerprint);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Readers that disagree: the gateway takes the first of a repeated member, JSON.parse (and most upstreams) the last.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// A member repeated on the id's path: the gateway binds the first id, every last-wins parser (the upstream, a JS
    /// resource server extracting the id) sees another. PaymentRequestReader refuses repeated keys on the fields it
    /// reads for exactly this reason; the id's path should be refused the same way.
    /// </summary>
    [Theory]
    [InlineData("extensions")]
    [InlineData("payment-identifier")]
    [InlineData("info")]
    public async Task Verify_RepeatedMemberOnTheIdsPath_400AndNotSent(string member)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payment = Payment(306, 1);
        var decoy = "\"" + OtherId + "\"";
        var body = member switch
        {
            "extensions" => payment.Replace(
                ",\"extensions\":", ",\"extensions\":{\"payment-identifier\":{\"info\":{\"id\":" + decoy + "}}},\"extensions\":", StringComparison.Ordinal),
            "payment-identifier" => payment.Replace(
                "{\"payment-identifier\":", "{\"payment-identifier\":{\"info\":{\"id\":" + decoy + "}},\"payment-identifier\":", StringComparison.Ordinal),
            _ => payment.Replace("{\"info\":", "{\"info\":{\"id\":" + decoy + "},\"info\":", StringComparison.Ordinal),
        };
        Assert.NotEqual(payment, body);

        // What a last-wins parser reads as the id.
        using (var document = System.Text.Json.JsonDocument.Parse(body))
        {
            Assert.Contains(Id, document.RootElement.GetProperty("paymentPayload").GetRawText(), StringComparison.Ordinal);
        }

        using var response = await gateway.PostAsync("/verify", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, upstream.CountOf("/verify"));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Attacks that held, pinned.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>Verify then settle of the same id with another payer's payload: 409 on settle, nothing sent.</summary>
    [Fact]
    public async Task Verify_ReplayedOnlyToTheSameBytes_AnotherAuthorizationUnderTheIdIs409()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var first = await gateway.PostAsync("/verify", Payment(307, 1, value: "50000000"));
        using var cheaper = await gateway.PostAsync("/verify", Payment(307, 1, value: "1"));
        using var otherPayer = await gateway.PostAsync("/verify", Payment(308, 1, value: "50000000"));
        using var otherRequirements = await gateway.PostAsync(
            "/verify", Payment(307, 1, value: "50000000").Replace("\"maxTimeoutSeconds\":60", "\"maxTimeoutSeconds\":61", StringComparison.Ordinal));

        Assert.True(await IsValidAsync(first));
        Assert.Equal(HttpStatusCode.Conflict, cheaper.StatusCode);

        // Ids are per payer: another payer's id is its own. The same authorization under other requirements is asked
        // again (never given the answer recorded for other bytes), not refused.
        Assert.True(await IsValidAsync(otherPayer));
        Assert.True(await IsValidAsync(otherRequirements));
        Assert.Null(Header(otherRequirements, "X-Facilitator-Payment-Identifier"));
        Assert.Equal(3, upstream.CountOf("/verify"));
    }

    /// <summary>A locally rejected payment (expired) binds nothing: the real payment under the id is then served.</summary>
    [Fact]
    public async Task Settle_LocallyRejectedPaymentUnderTheId_BindsNothing()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var expired = await gateway.PostAsync("/settle", Payment(309, 1, validBefore: Now - 60));
        using var real = await gateway.PostAsync("/settle", Payment(309, 2));

        Assert.Equal("invalid", Header(expired, "X-Facilitator-Local-Verdict"));
        Assert.Equal(Settled, await real.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    /// <summary>Escaped id characters read as the upstream reads them; a verify answer is never replayed to settle.</summary>
    [Fact]
    public async Task EscapedIdIsTheSameId_AndVerifyAnswersNeverAnswerASettle()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payment = Payment(310, 1);
        var escaped = payment.Replace("\"id\":\"p", "\"id\":\"\\u0070", StringComparison.Ordinal);
        Assert.NotEqual(payment, escaped);

        using var verified = await gateway.PostAsync("/verify", payment);
        using var escapedOther = await gateway.PostAsync("/verify", escaped);
        using var settled = await gateway.PostAsync("/settle", payment);

        // The escaped id is the same id and the same authorization: asked again (other bytes), neither refused nor replayed.
        Assert.Equal(HttpStatusCode.OK, escapedOther.StatusCode);
        Assert.Null(Header(escapedOther, "X-Facilitator-Payment-Identifier"));
        Assert.Equal(2, upstream.CountOf("/verify"));
        Assert.Equal(Settled, await settled.Content.ReadAsStringAsync());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    /// <summary>Redis: every binding carries an expiry no longer than MaxRetention, so strangers' ids do not accumulate forever.</summary>
    [Fact]
    public async Task Redis_BindingsExpire()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));

        using var far = await gateway.PostAsync("/verify", Payment(311, 1, validBefore: Now + 10 * 86_400));
        Assert.True(await IsValidAsync(far));

        // RESP: "*1\r\n$NN\r\n<key>\r\n" and ":<ms>\r\n".
        var keys = (await redis.CommandAsync("KEYS", "*pid:*")).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(static line => line[0] is not ('*' or '$')).ToArray();
        var key = Assert.Single(keys);
        var ttl = long.Parse((await redis.CommandAsync("PTTL", key)).Trim().TrimStart(':'), CultureInfo.InvariantCulture);
        Assert.InRange(ttl, 1, (long)TimeSpan.FromHours(24).TotalMilliseconds);
    }
}
