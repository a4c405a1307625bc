using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// Adversarial review of the settlement ledger: a payer who wants goods without paying (or twice), a stranger who
/// wants to block or poison a victim's settlement, and infrastructure faults. A failing test here is a defect.
/// </summary>
public sealed partial class SettlementAttackTests
{
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";
    private const string SettledV1 = """{"success":true,"transaction":"0xfeed","network":"base-sepolia"}""";
    private const string NonceUsed = """{"success":false,"errorReason":"invalid_exact_evm_nonce_already_used","transaction":"","network":"base-sepolia"}""";
    private const string BadSignature = """{"success":false,"errorReason":"invalid_exact_evm_signature","transaction":"","network":"eip155:84532"}""";

    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static readonly BigInteger CurveOrder = BigInteger.Parse(
        "0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------------------------------------------------------
    // The payer: one payment, goods for more than it paid.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// A v1 EIP-3009 payment with one JSON escape in a signed field (every JSON parser, and so every upstream, reads it
    /// as the same authorization) is not decoded by the gateway: it is keyed by its <c>paymentPayload</c> bytes alone,
    /// and the requirements (price, payTo) are in neither key nor fingerprint. Settled once for 0.01 USDC, the same
    /// X-PAYMENT presented for a 50 USDC resource (v1 resource servers match requirements by scheme and network only)
    /// is answered with the first settle's success, without reaching an upstream.
    /// </summary>
    [Theory]
    [InlineData("from")]
    [InlineData("value")]
    [InlineData("nonce")]
    public async Task Settle_UndecodablePaymentPresentedForADearerPrice_NotToldItSettled(string escapedField)
    {
        await using var upstream = await FakeFacilitator.StartAsync();

        // As the chain would: the first settle of the authorization succeeds, any later one finds its nonce spent.
        upstream.Sequence("/settle", 1, static c => FakeFacilitator.WriteAsync(c, 200, SettledV1), static c => FakeFacilitator.WriteAsync(c, 200, NonceUsed));
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var cheap = EscapeFirstCharacterOf(
            PaymentSigner.Request(PaymentSigner.CreatePayer(901), 1, Now - 600, Now + 1200, "10000", "10000", nonceSeed: 1), escapedField);
        var dear = cheap.Replace("\"maxAmountRequired\":\"10000\"", "\"maxAmountRequired\":\"50000000\"", StringComparison.Ordinal)
            .Replace("https://api.example.com/premium", "https://api.example.com/gold-bars", StringComparison.Ordinal);
        Assert.NotEqual(cheap, dear);

        using (var first = await gateway.PostAsync("/settle", cheap))
        {
            Assert.Equal("unjudged", Header(first, "X-Facilitator-Local-Verdict"));
            Assert.Equal(SettledV1, await first.Content.ReadAsStringAsync());
        }

        using var second = await gateway.PostAsync("/settle", dear);

        var answer = Json(await second.Content.ReadAsStringAsync());
        Assert.False(
            answer.TryGetProperty("success", out var success) && success.GetBoolean(),
            $"a 0.01 USDC payment was told it settled a 50 USDC price: {answer} (X-Facilitator-Settlement: {Header(second, "X-Facilitator-Settlement")})");
    }

    /// <summary>The same undecodable payment presented to another merchant (another payTo) on the same gateway.</summary>
    [Fact]
    public async Task Settle_UndecodablePaymentPresentedToAnotherPayTo_NotToldItSettled()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Sequence("/settle", 1, static c => FakeFacilitator.WriteAsync(c, 200, SettledV1), static c => FakeFacilitator.WriteAsync(c, 200, NonceUsed));
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var paid = EscapeFirstCharacterOf(
            PaymentSigner.Request(PaymentSigner.CreatePayer(902), 1, Now - 600, Now + 1200, "10000", "10000", nonceSeed: 1), "from");
        var requirementsStart = paid.IndexOf("\"paymentRequirements\"", StringComparison.Ordinal);
        var elsewhere = paid[..requirementsStart] + paid[requirementsStart..].Replace(
            "\"payTo\":\"" + PaymentSigner.PayTo + "\"", "\"payTo\":\"0x1111111111111111111111111111111111111111\"", StringComparison.Ordinal);
        Assert.NotEqual(paid, elsewhere);

        (await gateway.PostAsync("/settle", paid)).Dispose();
        using var second = await gateway.PostAsync("/settle", elsewhere);

        var answer = Json(await second.Content.ReadAsStringAsync());
        Assert.False(
            answer.TryGetProperty("success", out var success) && success.GetBoolean(),
            $"a payment to one merchant was told it settled another's requirements: {answer}");
    }

    /// <summary>
    /// After an authorization settled, its payer signs a bigger one under the same nonce and sends it in every signature
    /// form that escapes local checking (64-byte, 66-byte, high-s, v of 0/1, upper-case hex): each is refused at once as
    /// a nonce reuse and nothing reaches an upstream. (Held.)
    /// </summary>
    [Theory]
    [InlineData("compact64")]
    [InlineData("padded66")]
    [InlineData("highS")]
    [InlineData("v01")]
    [InlineData("upper")]
    public async Task Settle_BiggerAuthorizationReusingASettledNonceInAnotherSignatureForm_Refused(string form)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payer = PaymentSigner.CreatePayer(903);

        using (var cent = await gateway.PostAsync("/settle", PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, "10000", "10000", nonceSeed: 3)))
        {
            Assert.Equal(Settled, await cent.Content.ReadAsStringAsync());
        }

        var fifty = ReformSignature(PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, "50000000", "50000000", nonceSeed: 3), form);
        using var refused = await gateway.PostAsync("/settle", fifty);

        var answer = Json(await refused.Content.ReadAsStringAsync());
        Assert.False(answer.GetProperty("success").GetBoolean());
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    /// <summary>
    /// The settled authorization re-encoded (upper-case signature hex, leading zeros, unknown fields, whitespace, the v1
    /// form) is the same settlement: replayed, never sent again, never refused. (Held.)
    /// </summary>
    [Fact]
    public async Task Settle_SameAuthorizationReencoded_ReplayedNotResent()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payer = PaymentSigner.CreatePayer(904);
        var payment = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, "10000", "10000", nonceSeed: 4);
        (await gateway.PostAsync("/settle", payment)).Dispose();

        string[] variants =
        [
            ReformSignature(payment, "upper"),
            payment.Replace("\"value\":\"10000\"", "\"value\":\"00010000\"", StringComparison.Ordinal),
            payment.Replace("\"authorization\":{", "\"authorization\":{\"memo\":\"hi\",  ", StringComparison.Ordinal),
            payment.Replace("{\"signature\"", "{ \"extra\" : [1,2,3] ,\n \"signature\"", StringComparison.Ordinal),
            PaymentSigner.Request(payer, 1, Now - 600, Now + 1200, "10000", "10000", nonceSeed: 4),
        ];
        foreach (var variant in variants)
        {
            using var repeat = await gateway.PostAsync("/settle", variant);
            Assert.Equal("replayed", Header(repeat, "X-Facilitator-Settlement"));
        }

        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The resource server: never a definite failure for a settlement that may have paid.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// The first settle timed out at the upstream (it may have paid: 202 pending). The resource server retries; the
    /// retry, sent to the same upstream, finds the nonce spent — by the first attempt's own payment. The ledger keeps
    /// the settlement pending (the README says so), but the caller is answered the upstream's definite
    /// <c>success:false</c>: the merchant refuses the goods of a payment that settled.
    /// </summary>
    [Fact]
    public async Task Settle_RetryOfAPendingSettlementFindsTheNonceSpent_AnsweredPendingNotFailed()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Hang("/settle");
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(905), 1, Now - 600, Now + 1200, nonceSeed: 5);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        upstream.Answer("/settle", 200, NonceUsed);
        using var retry = await gateway.PostAsync("/settle", payment);

        var text = await retry.Content.ReadAsStringAsync();
        Assert.True(
            retry.StatusCode == HttpStatusCode.Accepted && text.Contains("settlement_pending", StringComparison.Ordinal),
            $"a settlement the ledger holds as pending was answered {(int)retry.StatusCode} {text}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The stranger: block, poison or delay the victim's settlement.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Anyone can send settles whose signature cannot be checked (here 64-byte copies with fresh nonces and a
    /// <c>validBefore</c> a month away). When the upstream answers them 5xx (or times out) each becomes a pending record,
    /// kept until <c>validBefore</c> capped at 24 h, never evictable, counted in the same byte bound as verified
    /// settlements: once they fill it, every real settle gets 503 for a day.
    /// </summary>
    [Fact]
    public async Task Settle_FloodOfUncheckableSettlesLeftPending_DoesNotBlockAVerifiedSettle()
    {
        var attacker = PaymentSigner.CreatePayer(906);
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.On("/settle", context => FakeFacilitator.RequestOf(context).BodyText.Contains(attacker.Address, StringComparison.Ordinal)
            ? FakeFacilitator.WriteAsync(context, 502, "bad gateway", "text/plain")
            : FakeFacilitator.WriteAsync(context, 200, Settled));
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Settlement:MaxMemoryBytes"] = (1024 * 1024).ToString(CultureInfo.InvariantCulture);
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1000";
        settings["FACILITATOR_RETRIES"] = "0";
        settings["Logging:LogLevel:Default"] = "None";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var store = gateway.Services.GetRequiredService<InMemorySettlementStore>();
        var template = CompactSignature(PaymentSigner.Request(attacker, 2, Now - 600, Now + 30 * 86_400, nonceSeed: 6));
        var nonce = NonceField().Match(template).Value;
        var legitimate = PaymentSigner.CreatePayer(907);

        var full = false;
        for (var batch = 0; batch < 80 && !full; batch++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
                gateway.PostAsync("/settle", template.Replace(nonce, $"\"nonce\":\"0x{batch * 100 + i + 1:x64}\"", StringComparison.Ordinal))));
            full = responses.Any(static r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
            Assert.All(responses, static r => Assert.True(r.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.ServiceUnavailable, r.StatusCode.ToString()));

            // Real traffic keeps the upstream healthy meanwhile.
            (await gateway.PostAsync("/settle", PaymentSigner.Request(legitimate, 2, Now - 600, Now + 1200, nonceSeed: 1000 + batch))).Dispose();
        }

        Assert.True(full, $"the flood did not fill the ledger ({store.Count} records, {store.Bytes} bytes)");
        using var victim = await gateway.PostAsync("/settle", PaymentSigner.Request(PaymentSigner.CreatePayer(908), 2, Now - 600, Now + 1200, nonceSeed: 8));
        Assert.True(
            await victim.Content.ReadAsStringAsync() == Settled,
            $"a verified settle was refused after a stranger's flood: {(int)victim.StatusCode} {await victim.Content.ReadAsStringAsync()} ({store.Count} records, {store.Bytes} bytes)");
    }

    /// <summary>
    /// With <c>AssumeEoaPayers=false</c> (smart-wallet payers), a copy of the victim's authorization with another EIP-712
    /// domain name has the victim's fingerprint (the domain is not in it) but a signature that does not check. It is
    /// "treated as that settlement" — retargeted to the victim's nonce key with <c>Verified = true</c>. If it waits on the
    /// victim's claim and that claim is released (every upstream refused it provably, e.g. 429), the copy claims the
    /// victim's key itself, is refused upstream, and its failure is recorded as a verified failure, kept until
    /// <c>validBefore</c>: the victim's retry is then replayed the forged copy's failure.
    /// </summary>
    [Fact]
    public async Task Settle_UncheckedCopyWaitingOnAReleasedVerifiedClaim_CannotRecordItsFailureUnderTheVictimsNonce()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var refusing = 1;
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        upstream.On("/settle", async context =>
        {
            if (FakeFacilitator.RequestOf(context).BodyText.Contains("\"name\":\"USDX\"", StringComparison.Ordinal))
            {
                await FakeFacilitator.WriteAsync(context, 400, BadSignature);
                return;
            }

            if (Volatile.Read(ref refusing) == 1)
            {
                await held.Task;
                await FakeFacilitator.WriteAsync(context, 429, "{}");
                return;
            }

            await FakeFacilitator.WriteAsync(context, 200, Settled);
        });
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:AssumeEoaPayers"] = "false";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1000";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var waiters = gateway.Services.GetRequiredService<SettlementWaiters>();
        var victim = PaymentSigner.Request(PaymentSigner.CreatePayer(909), 2, Now - 600, Now + 1200, nonceSeed: 9);
        var forged = victim.Replace("\"name\":\"USDC\"", "\"name\":\"USDX\"", StringComparison.Ordinal);

        var first = gateway.PostAsync("/settle", victim);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the victim's settle reaches the upstream");
        var copy = gateway.PostAsync("/settle", forged);
        await Eventually.TrueAsync(() => waiters.Count == 1, "the forged copy waits on the victim's claim");
        held.SetResult();
        using (var firstResponse = await first)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, firstResponse.StatusCode);
        }

        (await copy).Dispose();
        Volatile.Write(ref refusing, 0);

        // The resource server retries after the 503, as it was told to.
        using var retry = await gateway.PostAsync("/settle", victim);
        Assert.True(
            await retry.Content.ReadAsStringAsync() == Settled,
            $"the victim's retry was answered {(int)retry.StatusCode} {await retry.Content.ReadAsStringAsync()} ({Header(retry, "X-Facilitator-Settlement")})");
    }

    /// <summary>
    /// Whoever holds a signed authorization (its payer, or anyone who saw the X-PAYMENT) sends a copy whose fingerprinted
    /// fields are identical but whose unfingerprinted fields make the upstream refuse it — here
    /// <c>maxTimeoutSeconds</c> 0 (equally: <c>accepted.amount</c>, <c>resource</c>; a <c>paymentPayload.x402Version</c>
    /// that differs from the request's is refused before any upstream). The refusal is recorded as a verified failure under that
    /// fingerprint, kept until <c>validBefore</c> (up to 24 h), and the real settle of the real authorization is then
    /// replayed that failure without reaching an upstream; the nonce was never spent.
    /// </summary>
    [Fact]
    public async Task Settle_CopyWithTheSameSignedFieldsButABrokenUnsignedField_CannotPoisonTheRealSettle()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.On("/settle", context => FakeFacilitator.RequestOf(context).BodyText.Contains("\"maxTimeoutSeconds\":0", StringComparison.Ordinal)
            ? FakeFacilitator.WriteAsync(context, 400, """{"success":false,"errorReason":"invalid_payment_requirements","transaction":"","network":"eip155:84532"}""")
            : FakeFacilitator.WriteAsync(context, 200, Settled));
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var real = PaymentSigner.Request(PaymentSigner.CreatePayer(914), 2, Now - 600, Now + 1200, nonceSeed: 14);
        var poison = real.Replace("\"maxTimeoutSeconds\":60", "\"maxTimeoutSeconds\":0", StringComparison.Ordinal);
        Assert.NotEqual(real, poison);

        using (var poisoned = await gateway.PostAsync("/settle", poison))
        {
            Assert.Equal("valid", Header(poisoned, "X-Facilitator-Local-Verdict"));
            Assert.Equal(HttpStatusCode.BadRequest, poisoned.StatusCode);
        }

        using var settle = await gateway.PostAsync("/settle", real);
        Assert.True(
            await settle.Content.ReadAsStringAsync() == Settled,
            $"the real authorization was answered {(int)settle.StatusCode} {await settle.Content.ReadAsStringAsync()} ({Header(settle, "X-Facilitator-Settlement")}); upstream calls: {upstream.CountOf("/settle")}");
    }

    /// <summary>
    /// The same signed transfer presented first under other requirements (an amount just below its value: an
    /// overpayment, not rejected locally) is refused by the upstream; nothing was spent. The real settle, with the
    /// merchant's own requirements, is then refused as a nonce reuse for as long as the failure is kept (up to 24 h):
    /// a finished failure blocks the nonce as if it had been spent.
    /// </summary>
    [Fact]
    public async Task Settle_FailedSettleOfTheSameTransferUnderOtherRequirements_DoesNotRefuseTheRealOne()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.On("/settle", context => FakeFacilitator.RequestOf(context).BodyText.Contains("\"amount\":\"9999\"", StringComparison.Ordinal)
            ? FakeFacilitator.WriteAsync(context, 400, """{"success":false,"errorReason":"invalid_payment_requirements","transaction":"","network":"eip155:84532"}""")
            : FakeFacilitator.WriteAsync(context, 200, Settled));
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var real = PaymentSigner.Request(PaymentSigner.CreatePayer(915), 2, Now - 600, Now + 1200, "10000", "10000", nonceSeed: 15);
        var requirementsStart = real.IndexOf("\"paymentRequirements\"", StringComparison.Ordinal);
        var other = real[..requirementsStart] + real[requirementsStart..].Replace("\"amount\":\"10000\"", "\"amount\":\"9999\"", StringComparison.Ordinal);
        Assert.NotEqual(real, other);

        (await gateway.PostAsync("/settle", other)).Dispose();
        using var settle = await gateway.PostAsync("/settle", real);

        Assert.True(
            await settle.Content.ReadAsStringAsync() == Settled,
            $"the real authorization was answered {(int)settle.StatusCode} {await settle.Content.ReadAsStringAsync()} ({Header(settle, "X-Facilitator-Settlement")})");
    }

    /// <summary>
    /// A forged copy of an unsettled victim authorization (64-byte signature, the victim's payer and nonce, a bigger
    /// value) whose upstream call hangs does not make the victim wait or be refused. (Held.)
    /// </summary>
    [Fact]
    public async Task Settle_ForgedBiggerCopyHangingUpstream_VictimSettlesAtOnce()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.On("/settle", async context =>
        {
            if (FakeFacilitator.RequestOf(context).BodyText.Contains("\"value\":\"50000000\"", StringComparison.Ordinal))
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(static _ => { });
                return;
            }

            await FakeFacilitator.WriteAsync(context, 200, Settled);
        });
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Aggregator:SettleTimeoutMs"] = "3000";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var victimPayer = PaymentSigner.CreatePayer(910);
        var victim = PaymentSigner.Request(victimPayer, 2, Now - 600, Now + 1200, "10000", "10000", nonceSeed: 10);
        var forged = CompactSignature(PaymentSigner.Request(PaymentSigner.CreatePayer(911), 2, Now - 600, Now + 1200, "50000000", "50000000", nonceSeed: 10))
            .Replace(PaymentSigner.CreatePayer(911).Address, victimPayer.Address, StringComparison.Ordinal);
        forged = NonceField().Replace(forged, NonceField().Match(victim).Value);

        var attack = gateway.PostAsync("/settle", forged);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the forged copy is at the upstream");
        using var real = await gateway.PostAsync("/settle", victim);

        Assert.Equal(Settled, await real.Content.ReadAsStringAsync());
        Assert.False(attack.IsCompleted);
    }

    /// <summary>
    /// Whoever saw a victim's X-PAYMENT sends the very same authorization first, its payer's address in upper case (or
    /// its signature without <c>0x</c>): text the official verifier refuses and others read, so it is forwarded
    /// unjudged. Its signature recovers, but it must not hold the payer's nonce: while its upstream call hangs, the
    /// victim's own settle is not made to wait for it, nor answered with its outcome.
    /// </summary>
    [Theory]
    [InlineData("payer-upper-case")]
    [InlineData("signature-without-0x")]
    public async Task Settle_SameAuthorizationInHexTheOfficialVerifierRefusesHangingUpstream_VictimSettlesAtOnce(string form)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var victimPayer = PaymentSigner.CreatePayer(916);
        var victim = PaymentSigner.Request(victimPayer, 2, Now - 600, Now + 1200, "10000", "10000", nonceSeed: 16);
        var copy = form == "payer-upper-case"
            ? victim.Replace(victimPayer.Address, "0x" + victimPayer.Address[2..].ToUpperInvariant(), StringComparison.Ordinal)
            : SignatureField().Replace(victim, m => "\"signature\":\"" + m.Groups[1].Value + "\"");
        Assert.NotEqual(victim, copy);
        upstream.On("/settle", async context =>
        {
            if (FakeFacilitator.RequestOf(context).BodyText == copy)
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(static _ => { });
                return;
            }

            await FakeFacilitator.WriteAsync(context, 200, Settled);
        });
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Aggregator:SettleTimeoutMs"] = "3000";
        await using var gateway = await GatewayHost.StartAsync(settings);

        var attack = gateway.PostAsync("/settle", copy);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "the copy is at the upstream");
        using var real = await gateway.PostAsync("/settle", victim);

        Assert.Equal(Settled, await real.Content.ReadAsStringAsync());
        Assert.Equal("valid", Header(real, "X-Facilitator-Local-Verdict"));
        Assert.False(attack.IsCompleted);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Infrastructure: a lease lost while its owner is alive; a claim Redis ran after the client gave up.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// The owner's lease lapses while its request is at the named upstream (the store's clock jumps past it: a GC pause,
    /// renewals that did not land). A repeat takes the settlement over as a retry at that upstream; the owner's attempt
    /// then gets a provable refusal (429) and its router moves to the next upstream — which the lost claim must not
    /// name. Nothing reaches the second upstream. (Held.)
    /// </summary>
    [Fact]
    public async Task Settle_OwnerLeaseTakenOverThenItsUpstreamRefuses_NeverFailsOverToASecondUpstream()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        primary.On("/settle", async context =>
        {
            await held.Task;
            await FakeFacilitator.WriteAsync(context, 429, "{}");
        });
        secondary.Answer("/settle", 200, Settled);
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["FACILITATOR_RETRIES"] = "0";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1000";
        await using var gateway = await GatewayHost.StartAsync(settings, time);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(912), 2, now - 600, now + 1200, nonceSeed: 12);

        var owner = gateway.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => primary.CountOf("/settle") == 1, "the owner's settle is at the primary");
        time.Advance(TimeSpan.FromMinutes(1));
        var repeat = gateway.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => primary.CountOf("/settle") == 2, "the repeat retries at the primary only");
        held.SetResult();

        using var ownerResponse = await owner;
        using var repeatResponse = await repeat;
        Assert.Equal(0, secondary.CountOf("/settle"));
        Assert.Equal(HttpStatusCode.Accepted, ownerResponse.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, repeatResponse.StatusCode);
    }

    /// <summary>
    /// Redis pauses writers for longer than the client's timeout and its read-back (CLIENT PAUSE 8 s): the first settle
    /// is refused with 503 (nothing sent, correctly) unless a last read on the shared connection, after the pause, finds
    /// its claim written and goes on; otherwise its claim script runs when the pause ends and leaves an
    /// in-flight claim with no owner and no upstream. The resource server's retry then waits on that orphan for the
    /// whole lease (here 30 s) and is answered 202 "in progress", though nothing was ever sent.
    /// </summary>
    [Fact]
    public async Task Settle_ClaimScriptRanAfterTheClientGaveUpOnItAndItsReadBack_RetryIsNotHeldByTheOrphan()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Settlement:LeaseMs"] = "30000";
        settings["Settlement:WaitMs"] = "5000";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(913), 2, Now - 600, Now + 1200, nonceSeed: 13);
        (await gateway.Client.GetAsync("/health")).Dispose();

        Assert.StartsWith("+OK", await redis.CommandAsync("CLIENT", "PAUSE", "8000", "WRITE"), StringComparison.Ordinal);
        using (var first = await gateway.PostAsync("/settle", payment))
        {
            // Refused unsent; or, when the read-back on the shared connection comes after the pause, the claim is found
            // written and the settle goes on (once).
            var body = await first.Content.ReadAsStringAsync();
            Assert.True(
                first.StatusCode == HttpStatusCode.ServiceUnavailable ? upstream.CountOf("/settle") == 0 : body == Settled && upstream.CountOf("/settle") == 1,
                $"{(int)first.StatusCode} {body}; upstream saw {upstream.CountOf("/settle")}");
        }

        await Eventually.TrueAsync(
            async () => (await redis.CommandAsync("KEYS", settings["Redis:KeyPrefix"] + "{settle:*")).Contains("{settle:", StringComparison.Ordinal),
            "the paused claim script runs once the pause ends",
            timeoutMs: 15_000);

        using var retry = await gateway.PostAsync("/settle", payment);
        Assert.True(
            await retry.Content.ReadAsStringAsync() == Settled,
            $"the retry of a settle that was never sent was answered {(int)retry.StatusCode} {await retry.Content.ReadAsStringAsync()}");
        Assert.Equal(1, upstream.CountOf("/settle"));
    }

    /// <summary>
    /// A settlement is pending at the primary (its settle timed out; the primary is now marked unhealthy) and Redis
    /// restarts. With the append-only file the README requires (and the service warns about at start when it is off),
    /// the pending record survives and the repeat goes to the primary only — never routed afresh to the secondary.
    /// </summary>
    [Fact]
    public async Task Settle_RedisWithItsAppendOnlyFileRestartsWhileASettlementIsPending_RepeatNeverReachesASecondUpstream()
    {
        var directory = Directory.CreateTempSubdirectory("facilitator-redis-").FullName;
        await using var redis = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always", "--dir", directory);
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Hang("/settle");
        secondary.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:SettleTimeoutMs"] = "300";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var connection = gateway.Services.GetRequiredService<RedisConnection>();
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(916), 2, Now - 600, Now + 1200, nonceSeed: 16);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            Assert.Equal("primary", Header(first, "X-Facilitator-Upstream"));
        }

        await redis.StopAsync();
        await Eventually.TrueAsync(() => !connection.IsConnected, "the instance sees Redis gone");
        await redis.StartAgainAsync();
        await Eventually.TrueAsync(() => connection.IsConnected, "the instance reconnects", timeoutMs: 15_000);

        using var repeat = await gateway.PostAsync("/settle", payment);
        Assert.Equal(0, secondary.CountOf("/settle"));
        Assert.Equal("primary", Header(repeat, "X-Facilitator-Upstream"));
        Assert.Equal("yes", Json(await gateway.Client.GetStringAsync("/health")).GetProperty("checks").GetProperty("redisAppendOnly").GetString());
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static string EscapeFirstCharacterOf(string body, string field)
    {
        var match = Regex.Match(body, "\"" + field + "\":\"(0x)?");
        Assert.True(match.Success, field);
        var at = match.Index + match.Length;
        return body[..at] + "\\u" + ((int)body[at]).ToString("x4", CultureInfo.InvariantCulture) + body[(at + 1)..];
    }

    private static string CompactSignature(string body) =>
        SignatureField().Replace(body, m => "\"signature\":\"0x" + m.Groups[1].Value[..128] + "\"");

    private static string ReformSignature(string body, string form) => SignatureField().Replace(body, m =>
    {
        var hex = m.Groups[1].Value;
        var r = hex[..64];
        var s = hex[64..128];
        var v = Convert.ToInt32(hex[128..], 16);
        var reformed = form switch
        {
            "compact64" => r + s,
            "padded66" => hex + "00",
            "highS" => r + (CurveOrder - BigInteger.Parse("0" + s, NumberStyles.HexNumber, CultureInfo.InvariantCulture))
                .ToString("x64", CultureInfo.InvariantCulture).TrimStart('0').PadLeft(64, '0') + (v == 27 ? "1c" : "1b"),
            "v01" => r + s + (v - 27).ToString("x2", CultureInfo.InvariantCulture),
            "upper" => hex.ToUpperInvariant(),
            _ => throw new ArgumentOutOfRangeException(nameof(form)),
        };
        return "\"signature\":\"0x" + reformed + "\"";
    });

    [GeneratedRegex("\"signature\":\"0x([0-9a-f]{130})\"")]
    private static partial Regex SignatureField();

    [GeneratedRegex("\"nonce\":\"0x[0-9a-f]{64}\"")]
    private static partial Regex NonceField();
}
