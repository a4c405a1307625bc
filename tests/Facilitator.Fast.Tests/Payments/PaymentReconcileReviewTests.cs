using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>
/// An adversarial review of the "/v1 review fixes" commit: the ledger consulted for failed, expired and past-validity
/// payments (<c>PaymentService.ReconcileAsync</c>), settling payments pinned to their upstream (<c>heldBy</c>) and never
/// resent after <c>validBefore</c>, failed or expired records giving way to a new verify. Upstreams are real loopback
/// servers, Redis a real <c>redis-server</c>. A failing test is a defect; a passing one is evidence the attack is defended.
/// </summary>
public sealed class PaymentReconcileReviewTests
{
    private const string Pending = """{"success":false,"errorReason":"settlement_pending","transaction":"0xabc","network":"eip155:84532"}""";
    private const string Refused = """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"eip155:84532"}""";
    private const string NonceUsed = """{"success":false,"errorReason":"invalid_exact_evm_payload_authorization_nonce_used","transaction":"","network":"eip155:84532"}""";
    private const long TwoDays = 48 * 3600;

    /// <summary>Longer than the ledger keeps any record (Settlement:MaxRetentionHours, 24 by default).</summary>
    private static readonly TimeSpan PastLedgerRetention = TimeSpan.FromHours(24) + TimeSpan.FromMinutes(5);

    private static long NowSeconds() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A signed v2 payment of Base Sepolia USDC; the same (payer, nonce, validBefore) give the same nonce.</summary>
    private static string Pay(int payer, int nonce, long validBefore, string value = "1500000", string? amount = null, long? now = null, string? description = null) =>
        PaymentSigner.Request(
            PaymentSigner.CreatePayer(payer), 2, (now ?? NowSeconds()) - 600, validBefore, value, amount ?? value, nonce, description: description);

    /// <summary>A signed v2 payment with the given EIP-3009 nonce (so two validity windows can share one nonce).</summary>
    private static string PayWithNonce(int payerSeed, byte[] nonce, long validAfter, long validBefore, string value = "1500000")
    {
        var payer = PaymentSigner.CreatePayer(payerSeed);
        var template = PaymentSigner.Request(payer, 2, validAfter, validBefore, value, value, 0);
        var sign = typeof(PaymentSigner).GetMethod("Sign", BindingFlags.NonPublic | BindingFlags.Static)!;
        var signature = (string)sign.Invoke(
            null, [payer, 84532UL, PaymentSigner.BaseSepoliaUsdc, "USDC", "2", PaymentSigner.PayTo, value, validAfter, validBefore, nonce])!;
        var templateNonce = Regex.Match(template, "\"nonce\":\"(0x[0-9a-f]{64})\"").Groups[1].Value;
        return template
            .Replace(templateNonce, "0x" + Convert.ToHexStringLower(nonce), StringComparison.Ordinal)
            .Replace("0x" + SignatureOf(template), signature, StringComparison.Ordinal);
    }

    private static string SignatureOf(string request) => Regex.Match(request, "\"signature\":\"0x([0-9a-f]{130})\"").Groups[1].Value;

    private static async Task<JsonElement> PaymentOf(GatewayHost gateway, string id)
    {
        using var status = await gateway.Client.GetAsync($"/v1/status/{id}");
        var text = await status.Content.ReadAsStringAsync();
        Assert.True(status.StatusCode == HttpStatusCode.OK, $"GET /v1/status answered {(int)status.StatusCode} {text}");
        return Json(text).GetProperty("payment");
    }

    private static async Task<string?> StatusOf(GatewayHost gateway, string id) => (await PaymentOf(gateway, id)).GetProperty("status").GetString();

    private static string? SettledByOf(JsonElement payment) => payment.TryGetProperty("settledBy", out var by) ? by.GetString() : null;

    private static Dictionary<string, string?> TwoUpstreams(FakeFacilitator first, FakeFacilitator second)
    {
        var settings = GatewayHost.Upstreams(("first", first.Url), ("second", second.Url));

        // The background re-ask of pending settlements stays out of the way (each test says who asks whom).
        settings["Settlement:ReconcileAfterMs"] = "3600000";
        return settings;
    }

    private static int AllRequests(params FakeFacilitator[] upstreams) =>
        upstreams.Sum(static u => u.Received.Count(static r => r.Path is "/verify" or "/settle"));

    // ---------------------------------------------------------------------------------------------------------------
    // 1. A settling payment turned "failed" by a failure that says nothing about its pending attempt.
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Status_SettlingAtFirstPastValidityAfterSecondRefusedAFreshAttempt_StillSettlingAtFirst()
    {
        // The /v1 settle is pending at "first" (it may have executed). The authorization is valid for two days; the ledger
        // keeps the pending record 24 h. Once it has forgotten, the resource server posts the same payment to /settle:
        // "first" refuses it unread (429), "second" says the nonce is used (because "first" executed it). After validBefore,
        // ReconcileAsync reads that Finished failure of the fingerprint and marks the /v1 payment failed, "settled by"
        // second — a refusal by another upstream of a later attempt, which proves nothing about the attempt at "first".
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var first = await UpstreamAsync();
        first.Answer("/settle", 500, Pending);
        await using var second = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(first, second), time);
        var payment = Pay(9101, 1, now + TwoDays, now: now);
        var id = await VerifiedIdAsync(gateway, payment);
        using (var pending = await SettleAsync(gateway, id))
        {
            Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        }

        time.Advance(PastLedgerRetention);
        first.Answer("/settle", 429, """{"error":"slow down"}""");
        second.Answer("/settle", 200, NonceUsed);
        time.Advance(TimeSpan.FromSeconds(TwoDays - 8) - PastLedgerRetention);
        using (var x402 = await gateway.PostAsync("/settle", payment))
        {
            Assert.False((await JsonOf(x402)).GetProperty("success").GetBoolean());
        }

        time.Advance(TimeSpan.FromSeconds(9));
        var read = await PaymentOf(gateway, id);

        Assert.True(
            read.GetProperty("status").GetString() == "settling" && SettledByOf(read) == "first",
            $"a payment pending at 'first' was reported from another upstream's refusal of a later attempt: {read}");
    }

    [Fact]
    public async Task Settle_PinnedSettlingPaymentAfterAnotherUpstreamRefusedAFreshAttempt_StaysSettlingAtItsHolder()
    {
        // The same, within validity, through /v1/settle: the record pins the settle to "first" (heldBy), but the claim
        // finds the other upstream's Finished failure of these very bytes and replays it, so the payment pending at
        // "first" is answered failed (200, success:false) with settledBy "second"; a retry pinned to "first" never says
        // failed (SettlementCoordinator.RecordAsync's own rule).
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var first = await UpstreamAsync();
        first.Answer("/settle", 500, Pending);
        await using var second = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(first, second), time);
        var payment = Pay(9102, 1, now + TwoDays, now: now);
        var id = await VerifiedIdAsync(gateway, payment);
        using (var pending = await SettleAsync(gateway, id))
        {
            Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        }

        time.Advance(PastLedgerRetention);
        first.Answer("/settle", 429, """{"error":"slow down"}""");
        second.Answer("/settle", 200, NonceUsed);
        using (var x402 = await gateway.PostAsync("/settle", payment))
        {
            Assert.False((await JsonOf(x402)).GetProperty("success").GetBoolean());
        }

        first.Answer("/settle", 500, Pending);
        using var v1 = await SettleAsync(gateway, id);
        var text = await v1.Content.ReadAsStringAsync();
        var read = await PaymentOf(gateway, id);

        Assert.True(
            v1.StatusCode == HttpStatusCode.Accepted && read.GetProperty("status").GetString() == "settling" && SettledByOf(read) == "first",
            $"/v1/settle of a payment pinned to 'first' answered {(int)v1.StatusCode} {text}; record: {read}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 2. The pin that is not there: a settle sent to a second upstream while the first may have it.
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Settle_SettlingRecordLeftWithoutHolderByAnAbandonedWait_NeverSentToSecondUpstream()
    {
        // /v1/settle moves the record to settling before it claims; if the claim is in flight for another caller (an x402
        // /settle of the same authorization) and the /v1 caller goes away, the answer is Abandoned and the record stays
        // "settling" with no settledBy. The x402 settle ends pending at "first". Once the ledger forgets (24 h; the
        // authorization is valid for two), heldBy is record.SettledBy = null: the settle is a fresh claim, routed in
        // priority order — "first" is down, so it goes to "second" while "first" may have executed it.
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var first = await UpstreamAsync();
        var release = first.Hold("/settle", 500, Pending);
        await using var second = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(first, second), time);
        var payment = Pay(9103, 1, now + TwoDays, now: now);
        var id = await VerifiedIdAsync(gateway, payment);

        var x402 = gateway.PostAsync("/settle", payment);
        await Eventually.TrueAsync(() => first.CountOf("/settle") == 1, "the x402 settle reaches 'first'");
        using var abandon = new CancellationTokenSource();
        var v1 = gateway.Client.PostAsync(
            "/v1/settle", new StringContent($$"""{"paymentId":"{{id}}"}""", Encoding.UTF8, "application/json"), abandon.Token);
        await Eventually.TrueAsync(async () => await StatusOf(gateway, id) == "settling", "the /v1 settle marks the payment settling and waits");
        await Task.Delay(500);
        await abandon.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => v1);
        await Task.Delay(1500);
        release.SetResult();
        (await x402).Dispose();

        var before = await PaymentOf(gateway, id);
        Assert.Equal("settling", before.GetProperty("status").GetString());
        Assert.Equal(1, first.CountOf("/settle"));

        time.Advance(PastLedgerRetention);
        await first.DisposeAsync();
        using var retry = await SettleAsync(gateway, id);

        var text = await retry.Content.ReadAsStringAsync();
        Assert.True(
            second.CountOf("/settle") == 0,
            $"a payment settling (record {before}) whose settlement is pending at 'first' was sent to 'second': {(int)retry.StatusCode} {text}");
    }

    [Fact(Skip = "Known limit: the ledger keeps a pending settlement at most Settlement:MaxRetentionHours (24 h); an authorization valid longer, pending through /settle, is not pinned once it is forgotten.")]
    public async Task Settle_VerifiedRecordPendingThroughX402AfterLedgerForgot_NeverSentToSecondUpstream()
    {
        // The same hole without any abort: the /v1 record is "verified" (never settled by id), the resource server settled
        // the payment through /settle and it is pending at "first". The record is not behind in ReconcileAsync's eyes (valid,
        // verified), so nothing pins it: once the ledger forgets, /v1/settle routes it afresh to "second".
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var first = await UpstreamAsync();
        first.Answer("/settle", 500, Pending);
        await using var second = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(first, second), time);
        var payment = Pay(9104, 1, now + TwoDays, now: now);
        var id = await VerifiedIdAsync(gateway, payment);
        using (var x402 = await gateway.PostAsync("/settle", payment))
        {
            Assert.False((await JsonOf(x402)).GetProperty("success").GetBoolean());
        }

        var before = await StatusOf(gateway, id);
        time.Advance(PastLedgerRetention);
        await first.DisposeAsync();
        using var retry = await SettleAsync(gateway, id);

        var text = await retry.Content.ReadAsStringAsync();
        Assert.True(
            second.CountOf("/settle") == 0,
            $"a payment pending at 'first' (the /v1 record read '{before}') was sent to 'second': {(int)retry.StatusCode} {text}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 3. Failed records: what the ledger knows, and what a new verify replaces.
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Status_FailedThenSameAuthorizationPendingThroughX402_ReadsSettling()
    {
        // The README: "before a payment is shown or answered as expired or failed, the ledger is asked about this very
        // authorization, so ... one pending at an upstream reads settling". ReconcileAsync moves only a *verified* record
        // to settling; a failed one stays failed while the same authorization is pending at an upstream.
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/settle", 200, Refused);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var validBefore = NowSeconds() + 1200;
        var id = await VerifiedIdAsync(gateway, Pay(9105, 1, validBefore));
        using (var failed = await SettleAsync(gateway, id))
        {
            Assert.Equal("failed", (await JsonOf(failed)).GetProperty("status").GetString());
        }

        upstream.Answer("/settle", 500, Pending);
        using (var x402 = await gateway.PostAsync("/settle", Pay(9105, 1, validBefore, description: "retried by the resource server")))
        {
            Assert.False((await JsonOf(x402)).GetProperty("success").GetBoolean());
        }

        var read = await PaymentOf(gateway, id);
        Assert.True(read.GetProperty("status").GetString() == "settling", $"the authorization is pending at 'only', but /v1 reads: {read}");
    }

    [Fact]
    public async Task Verify_AnotherAuthorizationWhileTheFailedOneIsPendingThroughX402_RefusedAndTheIdEndsSettled()
    {
        // Answers() lets a failed record give way to any new verify without asking the ledger. The 1-cent authorization A
        // failed at /v1, then went pending through /settle. The payer verifies B (50 USDC, same nonce): B replaces A.
        // A then settles; the payment id, which stands for the nonce, now holds B, which can never settle: /v1 ends
        // "failed" for a nonce whose transfer happened.
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/settle", 200, Refused);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var validBefore = NowSeconds() + 1200;
        var cent = Pay(9106, 1, validBefore, "10000");
        var centCopy = Pay(9106, 1, validBefore, "10000", description: "retried by the resource server");
        var fifty = Pay(9106, 1, validBefore, "50000000");
        var id = await VerifiedIdAsync(gateway, cent);
        using (var failed = await SettleAsync(gateway, id))
        {
            Assert.Equal("failed", (await JsonOf(failed)).GetProperty("status").GetString());
        }

        upstream.Answer("/settle", 500, Pending);
        using (var x402 = await gateway.PostAsync("/settle", centCopy))
        {
            Assert.False((await JsonOf(x402)).GetProperty("success").GetBoolean());
        }

        using var verifyFifty = await gateway.PostAsync("/v1/verify", fifty);
        var verifyText = await verifyFifty.Content.ReadAsStringAsync();
        upstream.Answer("/settle", 200, Settled);
        using (var x402 = await gateway.PostAsync("/settle", centCopy))
        {
            Assert.True((await JsonOf(x402)).GetProperty("success").GetBoolean());
        }

        using var settle = await SettleAsync(gateway, id);
        var final = await JsonOf(settle);

        Assert.True(
            verifyFifty.StatusCode != HttpStatusCode.OK,
            $"50 USDC on a nonce pending for 1 cent was verified ({verifyText}); the id then ends: {final}");
        Assert.Equal("settled", final.GetProperty("status").GetString());
        Assert.Equal("10000", final.GetProperty("payment").GetProperty("amountAtomic").GetString());
    }

    [Fact]
    public async Task Verify_SameAuthorizationAgainAfterItsSettleFailed_NoEndless503RetryThatAsksTheUpstreamEachTime()
    {
        // Answers() returns null for a failed record, so the verify asks the upstream; CreateAsync finds the record of the
        // same fingerprint (never replaced) and VerifyAsync answers 503 "changed at the same moment; retry". Nothing
        // changes between retries: each one asks the upstream again and gets the same 503.
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/settle", 200, Refused);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payment = Pay(9107, 1, NowSeconds() + 1200);
        var id = await VerifiedIdAsync(gateway, payment);
        using (var failed = await SettleAsync(gateway, id))
        {
            Assert.Equal("failed", (await JsonOf(failed)).GetProperty("status").GetString());
        }

        var answers = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var again = await gateway.PostAsync("/v1/verify", payment);
            answers.Add($"{(int)again.StatusCode} {await again.Content.ReadAsStringAsync()}");
        }

        Assert.True(
            answers.All(static a => !a.StartsWith("503", StringComparison.Ordinal)),
            $"verifying a failed payment again: {string.Join(" | ", answers)} ({upstream.CountOf("/verify")} upstream verifies)");
    }

    [Fact]
    public async Task Status_FailedAndAnotherAuthorizationOfTheNonceSettledThroughX402_StaysFailed()
    {
        // FindSameAsync matches the fingerprint: a success of another authorization under the same ledger key (payer,
        // nonce) must not turn this one settled.
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/settle", 200, Refused);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var validBefore = NowSeconds() + 1200;
        var id = await VerifiedIdAsync(gateway, Pay(9108, 1, validBefore, "50000000"));
        using (var failed = await SettleAsync(gateway, id))
        {
            Assert.Equal("failed", (await JsonOf(failed)).GetProperty("status").GetString());
        }

        upstream.Answer("/settle", 200, Settled);
        using (var x402 = await gateway.PostAsync("/settle", Pay(9108, 1, validBefore, "10000")))
        {
            Assert.True((await JsonOf(x402)).GetProperty("success").GetBoolean());
        }

        var read = await PaymentOf(gateway, id);
        using var settle = await SettleAsync(gateway, id);
        using var batch = await gateway.PostAsync("/v1/status/batch", $$"""{"paymentIds":["{{id}}"]}""");

        Assert.Equal("failed", read.GetProperty("status").GetString());
        Assert.Equal("50000000", read.GetProperty("amountAtomic").GetString());
        Assert.Equal("failed", (await JsonOf(settle)).GetProperty("status").GetString());
        Assert.Equal("failed", (await JsonOf(batch)).GetProperty("results")[0].GetProperty("payment").GetProperty("status").GetString());
        Assert.Equal(2, upstream.CountOf("/settle"));
    }

    [Fact(Skip = "Known limit: the ledger's fingerprint includes the requirements' payTo and amount, so the same signed transfer settled under another price is not recognised as this payment.")]
    public async Task Status_SignedTransferSettledThroughX402UnderAnotherPrice_NotReportedExpired()
    {
        // The payer's very authorization (same signature, value, payee, nonce) is executed through /settle with a lower
        // requirements amount: a different fingerprint, so FindSameAsync does not see it, and after validBefore the /v1
        // record reads "expired" — "passed before it was settled" — for a transfer that happened.
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)), time);
        var merchant = Pay(9109, 1, now + 120, "1500000", now: now);
        var cheaper = Pay(9109, 1, now + 120, "1500000", amount: "1000000", now: now);
        Assert.Equal(SignatureOf(merchant), SignatureOf(cheaper));
        var id = await VerifiedIdAsync(gateway, merchant);
        using (var x402 = await gateway.PostAsync("/settle", cheaper))
        {
            Assert.True((await JsonOf(x402)).GetProperty("success").GetBoolean());
        }

        time.Advance(TimeSpan.FromSeconds(125));
        var read = await PaymentOf(gateway, id);

        Assert.True(
            read.GetProperty("status").GetString() != "expired",
            $"the signed transfer was executed (one upstream settle of this signature), but /v1 reads: {read}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 4. Stale reads: ReconcileAsync writes a whole record under a status-only compare-and-set.
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Reconcile_StaleFailedReadAfterAnotherAuthorizationTookTheId_DoesNotOverwriteItWithSettled()
    {
        // A status read loads failed A (1 cent) and asks the ledger; meanwhile the payer verifies B (50 USDC, same nonce:
        // it replaces failed A) and A's copy settles through /settle. The read resumes: settled may follow verified, so
        // B's record is overwritten with "A settled" — the id B's merchant verified reads settled, with A's amount.
        // (The read is replayed by calling ReconcileAsync with the record it loaded: the interleaving, made deterministic.)
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/settle", 200, Refused);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var payments = gateway.Services.GetRequiredService<PaymentService>();
        var validBefore = NowSeconds() + 1200;
        var id = await VerifiedIdAsync(gateway, Pay(9110, 1, validBefore, "10000"));
        using (var failed = await SettleAsync(gateway, id))
        {
            Assert.Equal("failed", (await JsonOf(failed)).GetProperty("status").GetString());
        }

        var staleA = await payments.Store.GetAsync(Guid.Parse(id));
        Assert.NotNull(staleA);
        var fiftyId = await VerifiedIdAsync(gateway, Pay(9110, 1, validBefore, "50000000"));
        Assert.Equal(id, fiftyId);
        upstream.Answer("/settle", 200, Settled);
        using (var x402 = await gateway.PostAsync("/settle", Pay(9110, 1, validBefore, "10000", description: "retried by the resource server")))
        {
            Assert.True((await JsonOf(x402)).GetProperty("success").GetBoolean());
        }

        await payments.ReconcileAsync(staleA!);
        var read = await PaymentOf(gateway, id);

        Assert.True(
            read.GetProperty("amountAtomic").GetString() == "50000000" && read.GetProperty("status").GetString() != "settled",
            $"the record of the 50 USDC authorization verified a moment ago was replaced by another's outcome: {read}");
    }

    [Fact]
    public async Task Reconcile_StaleVerifiedReadAfterAnotherAuthorizationTookTheId_DoesNotOverwriteItWithExpired()
    {
        // The same race on the expiry path: a read loads verified A past its validBefore; meanwhile A is expired by another
        // read and B (same nonce, valid for an hour) replaces it. The first read finds nothing in the ledger and expires
        // "its" record: expired may follow verified, so B's fresh record becomes A-expired, and /v1/settle of B is 410.
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)), time);
        var payments = gateway.Services.GetRequiredService<PaymentService>();
        var nonce = Enumerable.Range(1, 32).Select(static i => (byte)(i * 7)).ToArray();
        var id = await VerifiedIdAsync(gateway, PayWithNonce(9111, nonce, now - 600, now + 120, "10000"));

        time.Advance(TimeSpan.FromSeconds(125));
        var staleA = await payments.Store.GetAsync(Guid.Parse(id));
        Assert.Equal("expired", await StatusOf(gateway, id));
        var later = time.GetUtcNow().ToUnixTimeSeconds();
        var bId = await VerifiedIdAsync(gateway, PayWithNonce(9111, nonce, later - 600, later + 3600, "50000000"));
        Assert.Equal(id, bId);

        await payments.ReconcileAsync(staleA!);
        var read = await PaymentOf(gateway, id);
        using var settle = await SettleAsync(gateway, id);
        var settleText = await settle.Content.ReadAsStringAsync();

        Assert.True(
            read.GetProperty("status").GetString() == "verified" && read.GetProperty("amountAtomic").GetString() == "50000000",
            $"the record of the authorization verified a moment ago was replaced by another's expiry: {read}; /v1/settle: {(int)settle.StatusCode} {settleText}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 5. Reads stay reads; past validBefore nothing is sent again; instances agree.
    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task StatusReads_RecordsInEveryReconciledState_NoUpstreamCallNoSignatureAndTheLedgersAnswer()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)), time);
        var payments = Enumerable.Range(1, 5).Select(n => Pay(9112, n, now + 120, now: now)).ToArray();
        var ids = new string[5];
        for (var i = 0; i < 5; i++)
        {
            ids[i] = await VerifiedIdAsync(gateway, payments[i]);
        }

        upstream.Answer("/settle", 200, Refused);
        (await SettleAsync(gateway, ids[0])).Dispose();                     // failed
        upstream.Answer("/settle", 500, Pending);
        (await SettleAsync(gateway, ids[2])).Dispose();                     // settling at "only"
        (await gateway.PostAsync("/settle", payments[3])).Dispose();        // verified, pending through /settle
        upstream.Answer("/settle", 200, Settled);
        (await gateway.PostAsync("/settle", payments[4])).Dispose();        // verified, settled through /settle
        time.Advance(TimeSpan.FromSeconds(125));                            // ids[1]: verified, never settled
        var asked = AllRequests(upstream);

        var texts = new List<string>();
        var statuses = new List<string?>();
        for (var round = 0; round < 3; round++)
        {
            foreach (var id in ids)
            {
                using var status = await gateway.Client.GetAsync($"/v1/status/{id}");
                var text = await status.Content.ReadAsStringAsync();
                texts.Add(text);
                statuses.Add(Json(text).GetProperty("payment").GetProperty("status").GetString());
            }
        }

        using (var batch = await gateway.PostAsync("/v1/status/batch", "{\"paymentIds\":[" + string.Join(",", ids.Select(static id => $"\"{id}\"")) + "]}"))
        {
            texts.Add(await batch.Content.ReadAsStringAsync());
        }

        Assert.Equal(asked, AllRequests(upstream));
        Assert.Equal(new string?[] { "failed", "expired", "settling", "settling", "settled" }, statuses.Take(5).ToArray());
        Assert.Equal(statuses.Take(5).ToArray(), statuses.Skip(10).Take(5).ToArray());
        foreach (var text in texts)
        {
            Assert.DoesNotContain("\"nonce\"", text, StringComparison.Ordinal);
            Assert.DoesNotContain("\"signature\"", text, StringComparison.Ordinal);
            foreach (var payment in payments)
            {
                Assert.DoesNotContain(SignatureOf(payment)[..24], text, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    [Fact]
    public async Task Settle_SettlingPastValidBeforeByHandAndBySweeperWithAutoSettle_NeverSentAgain()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var first = await UpstreamAsync();
        first.Answer("/settle", 500, Pending);
        await using var second = await UpstreamAsync();
        var settings = TwoUpstreams(first, second);
        settings["Payments:AutoSettle"] = "true";
        settings["Payments:AutoSettleDelayMs"] = "3600000";
        settings["Payments:SweepIntervalMs"] = "50";
        await using var gateway = await GatewayHost.StartAsync(settings, time);
        var id = await VerifiedIdAsync(gateway, Pay(9113, 1, now + 120, now: now));
        using (var pending = await SettleAsync(gateway, id))
        {
            Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        }

        first.Answer("/settle", 200, Settled);
        var answers = new List<string>();
        foreach (var step in new[] { 125, 30, 300, 3600 })
        {
            time.Advance(TimeSpan.FromSeconds(step));
            await Task.Delay(400);
            using var settle = await SettleAsync(gateway, id);
            answers.Add($"{(int)settle.StatusCode} {await settle.Content.ReadAsStringAsync()}");
        }

        await Task.Delay(400);
        Assert.True(first.CountOf("/settle") == 1 && second.CountOf("/settle") == 0, $"first {first.CountOf("/settle")}, second {second.CountOf("/settle")}: {string.Join(" | ", answers)}");
        Assert.Equal("settling", await StatusOf(gateway, id));
    }

    [Fact]
    public async Task Status_TwoInstancesOnRedisReconcilingAtOnce_SameAnswerEverywhereAndNoUpstreamCall()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/settle", 500, Pending);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Settlement:ReconcileAfterMs"] = "3600000";
        await using var a = await GatewayHost.StartAsync(settings, time);
        await using var b = await GatewayHost.StartAsync(settings, time);
        var pendingPayment = Pay(9114, 1, now + 120, now: now);
        var pendingId = await VerifiedIdAsync(a, pendingPayment);
        var idleId = await VerifiedIdAsync(b, Pay(9114, 2, now + 120, now: now));
        (await b.PostAsync("/settle", pendingPayment)).Dispose();
        time.Advance(TimeSpan.FromSeconds(125));
        var asked = AllRequests(upstream);

        var reads = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            var gateway = i % 2 == 0 ? a : b;
            var id = i % 4 < 2 ? pendingId : idleId;
            using var status = await gateway.Client.GetAsync($"/v1/status/{id}");
            var payment = (await JsonOf(status)).GetProperty("payment");
            return (id, payment.GetProperty("status").GetString(), SettledByOf(payment));
        }));

        Assert.All(reads.Where(r => r.id == pendingId), static r => Assert.Equal(("settling", "only"), (r.Item2, r.Item3)));
        Assert.All(reads.Where(r => r.id == idleId), static r => Assert.Equal("expired", r.Item2));
        Assert.Equal(("settling", "expired"), (await StatusOf(a, pendingId), await StatusOf(b, idleId)));
        Assert.Equal(asked, AllRequests(upstream));
    }

    [Fact]
    public async Task Status_RedisStoppedWhileReadingAFailedPayment_503NotInternalError()
    {
        // IPaymentStore: "The payment store cannot be reached: nothing was read or written; the caller answers 503."
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await UpstreamAsync();
        upstream.Answer("/settle", 200, Refused);
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));
        var id = await VerifiedIdAsync(gateway, Pay(9115, 1, NowSeconds() + 1200));
        using (var failed = await SettleAsync(gateway, id))
        {
            Assert.Equal("failed", (await JsonOf(failed)).GetProperty("status").GetString());
        }

        await redis.StopAsync();
        using var status = await gateway.Client.GetAsync($"/v1/status/{id}");
        using var batch = await gateway.PostAsync("/v1/status/batch", $$"""{"paymentIds":["{{id}}"]}""");

        var text = await status.Content.ReadAsStringAsync();
        var batchText = await batch.Content.ReadAsStringAsync();
        Assert.True(
            status.StatusCode == HttpStatusCode.ServiceUnavailable && batch.StatusCode == HttpStatusCode.ServiceUnavailable,
            $"with Redis down: GET {(int)status.StatusCode} {text}; batch {(int)batch.StatusCode} {batchText}");
    }
}
