using System.Net;
using System.Reflection;
using System.Text;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// Second adversarial review of the settlement ledger and of the health classification, after the first review's
/// fixes ("a failure spends no nonce", "4xx without a verdict is a rejection"). A failing test here is a defect.
/// </summary>
public sealed class SettlementSecondReviewTests
{
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";

    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // ---------------------------------------------------------------------------------------------------------------
    // Upstream answers that are not what the gateway takes them for.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// The official facilitator (@x402/evm 2.27, the one the chain suite runs: <c>waitAndReturnSettleResponse</c>)
    /// answers a settle whose transaction it broadcast but whose receipt it could not get (RPC timeout,
    /// <c>confirmationTimeoutMs</c>) with HTTP 200 <c>{"success":false,"errorReason":"settlement_pending",
    /// "transaction":"0x…"}</c>, and caches the transaction under the signature so that a repeat at that facilitator
    /// waits for the same transaction instead of broadcasting again. The gateway records that answer as a finished
    /// failure, which "spends no nonce": replayed only to the byte-identical request for 10 s, after which (or for any
    /// re-encoding of the request) the authorization is routed afresh — and reaches a second facilitator as soon as the
    /// first one refuses it unread (429 here). The transfer may be on chain: two facilitators broadcast one
    /// authorization, and the second's "nonce already used" is answered as a definite failure. (Failed at 1bf59b6 and
    /// 91e2ea1; held since 88e3586, which reads <c>settlement_pending</c> as pending at that upstream.)
    /// </summary>
    [Theory]
    [InlineData("identical, after the failure retention")]
    [InlineData("re-encoded, at once")]
    public async Task Settle_UpstreamAnswersItsOwnSettlementPending_RepeatNeverReachesASecondUpstream(string repeat)
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        var body = PaymentSigner.Request(PaymentSigner.CreatePayer(2001), 2, Now - 600, Now + 1200, nonceSeed: 1);
        var pending = """{"success":false,"errorReason":"settlement_pending","errorMessage":"Timed out while waiting for transaction with hash 0x5e…","transaction":"0x5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e","network":"eip155:84532"}""";
        primary.Sequence("/settle", 1, c => FakeFacilitator.WriteAsync(c, 200, pending), static c => FakeFacilitator.WriteAsync(c, 429, """{"error":"rate limited"}"""));
        secondary.Answer("/settle", 200, Settled);
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Settlement:FailureRetentionMs"] = "1000";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using (var first = await gateway.PostAsync("/settle", body))
        {
            Assert.Equal("primary", Header(first, "X-Facilitator-Upstream"));
        }

        string again;
        if (repeat.StartsWith("identical", StringComparison.Ordinal))
        {
            await Task.Delay(1500);
            again = body;
        }
        else
        {
            again = "{ " + body[1..];
        }

        using var second = await gateway.PostAsync("/settle", again);

        var text = await second.Content.ReadAsStringAsync();
        Assert.True(
            secondary.CountOf("/settle") == 0,
            $"a settlement the primary reported pending (its transaction broadcast) was sent to the secondary: answered {(int)second.StatusCode} {text} by {Header(second, "X-Facilitator-Upstream")}");
    }

    /// <summary>
    /// The same for a v1 payment, with the answer the official facilitator really gives (captured from @x402/evm 2.27 +
    /// viem 2.57.20 on anvil with mining paused: the chain suite's facilitator.mjs, a v1 payment of the official client,
    /// settle answered after its 30 s receipt timeout; once a block was mined, <c>authorizationState</c> was true — the
    /// payment happened). <c>ExactEvmSchemeV1.settle</c> catches the receipt timeout after <c>writeContract</c> and answers
    /// HTTP 200 <c>success:false</c> with viem's message as <c>errorReason</c> and an empty <c>transaction</c>. The gateway
    /// records it as a failure that spends no nonce and settles any other copy, or the same request 10 s later, afresh.
    /// </summary>
    [Theory]
    [InlineData("identical, after the failure retention")]
    [InlineData("re-encoded, at once")]
    public async Task Settle_OfficialV1FacilitatorsReceiptTimeoutAnswer_RepeatNeverReachesASecondUpstream(string repeat)
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        var payer = PaymentSigner.CreatePayer(2007);
        var body = PaymentSigner.Request(payer, 1, Now - 600, Now + 1200, nonceSeed: 7);
        var timedOut = """{"success":false,"errorReason":"Timed out while waiting for transaction with hash \"0x48c13e35623b6bff78f1409774961acd15d6830285a50945d4a2621534505796\" to be confirmed.\n\nVersion: viem@2.57.20","transaction":"","network":"base-sepolia","payer":"PAYER"}"""
            .Replace("PAYER", payer.Address, StringComparison.Ordinal);
        primary.Sequence("/settle", 1, c => FakeFacilitator.WriteAsync(c, 200, timedOut), static c => FakeFacilitator.WriteAsync(c, 429, """{"error":"rate limited"}"""));
        secondary.Answer("/settle", 200, """{"success":true,"transaction":"0xfeed","network":"base-sepolia"}""");
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Settlement:FailureRetentionMs"] = "1000";
        await using var gateway = await GatewayHost.StartAsync(settings);

        (await gateway.PostAsync("/settle", body)).Dispose();
        string again;
        if (repeat.StartsWith("identical", StringComparison.Ordinal))
        {
            await Task.Delay(1500);
            again = body;
        }
        else
        {
            again = "{ " + body[1..];
        }

        using var second = await gateway.PostAsync("/settle", again);

        var text = await second.Content.ReadAsStringAsync();
        Assert.True(
            secondary.CountOf("/settle") == 0,
            $"a settlement the primary broadcast (its receipt wait timed out) was sent to the secondary: answered {(int)second.StatusCode} {text}");
    }

    /// <summary>
    /// The official v1 example facilitator (coinbase/x402 <c>examples/typescript/facilitator/index.ts</c>) wraps
    /// <c>settle()</c> — verify, <c>writeContract</c>, <c>waitForTransactionReceipt</c>, none of it caught — in
    /// <c>catch { res.status(400).json({ error: "Invalid request" }) }</c>. A 400 JSON answer without a verdict can
    /// therefore come after the transaction was broadcast (the receipt wait threw). The gateway classes every settle
    /// 400 without <c>success</c> as a rejection that "provably" processed nothing and sends the same authorization to
    /// the next facilitator.
    /// </summary>
    [Fact]
    public async Task Settle_UpstreamAnswers400JsonWithoutAVerdict_NotSentToASecondUpstream()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", 400, """{"error":"Invalid request"}""");
        secondary.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));

        using var response = await gateway.PostAsync("/settle", PaymentSigner.Request(PaymentSigner.CreatePayer(2002), 2, Now - 600, Now + 1200, nonceSeed: 2));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(
            secondary.CountOf("/settle") == 0,
            $"after the primary's 400 {{\"error\":\"Invalid request\"}} (which may follow a broadcast) the settle went to the secondary: {(int)response.StatusCode} {text}");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    /// <summary>
    /// A settlement pending at the primary (its settle timed out) is retried there; the primary now rejects the request
    /// without a verdict (plain-text 400). The retry proves nothing about the first attempt: the answer stays 202
    /// pending, the record stays pending at the primary, and the secondary is never asked. (Held.)
    /// </summary>
    [Fact]
    public async Task Settle_RetryOfAPendingSettlementTheHolderRejects_StaysPendingAndNeverReachesASecondUpstream()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        var first = true;
        primary.On("/settle", async context =>
        {
            if (Interlocked.Exchange(ref first, false))
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                return;
            }

            await FakeFacilitator.WriteAsync(context, 400, "Failed to deserialize the JSON body", "text/plain");
        });
        secondary.Answer("/settle", 200, Settled);
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Upstreams:0:SettleTimeoutMs"] = "500";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var body = PaymentSigner.Request(PaymentSigner.CreatePayer(2003), 2, Now - 600, Now + 1200, nonceSeed: 3);

        for (var i = 0; i < 3; i++)
        {
            using var response = await gateway.PostAsync("/settle", body);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"attempt {i}: {(int)response.StatusCode} {text}");
            Assert.Equal("settlement_pending", Json(text).GetProperty("errorReason").GetString());
        }

        Assert.Equal(3, primary.CountOf("/settle"));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    /// <summary>
    /// A payment whose signature the gateway cannot check (a smart-wallet payer, a 64-byte ERC-2098 signature: forwarded
    /// unjudged, keyed by its own fingerprint) times out at the primary: 202 pending, and it may have paid. Its pending
    /// record is kept at most <c>Settlement:UnverifiedRetentionMinutes</c> (10), though the authorization is valid for an
    /// hour; the resource server's repeat after that is settled afresh and reaches the secondary as soon as the primary
    /// refuses it unread — the very thing a pending record exists to prevent.
    /// </summary>
    [Fact]
    public async Task Settle_UncheckedSettlementPendingAtAnUpstream_RepeatAfterItsRetentionNeverReachesASecondUpstream()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        var first = true;
        primary.On("/settle", async context =>
        {
            if (Interlocked.Exchange(ref first, false))
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                return;
            }

            await FakeFacilitator.WriteAsync(context, 429, """{"error":"rate limited"}""");
        });
        secondary.Answer("/settle", 200, Settled);
        var time = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(Now));
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Upstreams:0:SettleTimeoutMs"] = "500";
        await using var gateway = await GatewayHost.StartAsync(settings, time);
        var signed = PaymentSigner.Request(PaymentSigner.CreatePayer(2006), 2, Now - 600, Now + 3600, nonceSeed: 6);
        var signatureAt = signed.IndexOf("\"signature\":\"0x", StringComparison.Ordinal) + "\"signature\":\"0x".Length;
        var compact = signed[..(signatureAt + 128)] + signed[(signatureAt + 130)..];

        using (var pending = await gateway.PostAsync("/settle", compact))
        {
            Assert.Equal("unjudged", Header(pending, "X-Facilitator-Local-Verdict"));
            Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        }

        time.Advance(TimeSpan.FromMinutes(11));
        using var repeat = await gateway.PostAsync("/settle", compact);

        var text = await repeat.Content.ReadAsStringAsync();
        Assert.True(
            secondary.CountOf("/settle") == 0,
            $"a settlement pending at the primary was sent to the secondary 11 minutes later (validBefore is an hour away): {(int)repeat.StatusCode} {text}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Health: what a caller can make an upstream do.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// The official facilitator (the chain suite's, shaped like the official v2 example) throws for a
    /// <c>paymentPayload.x402Version</c> it has no scheme for and answers <c>500 {"error":"No facilitator registered for
    /// x402 version: 3"}</c> (checked against tests/chain/facilitator.mjs). The gateway reads only the top-level
    /// version, judges the payment valid (the payer's own key signed it; no funds needed), forwards it, counts the 5xx
    /// against the upstream's health and fails over to the next upstream, which answers the same. Three verifies
    /// (MaxConsecutiveFailures) from anyone take every upstream out: every merchant's verify and settle then gets 503.
    /// </summary>
    [Fact]
    public async Task Verify_CallerPayloadThatMakesTheOfficialFacilitatorThrow_DoesNotTakeEveryUpstreamOut()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        foreach (var upstream in new[] { primary, secondary })
        {
            upstream.On("/verify", static context => FakeFacilitator.RequestOf(context).BodyText.Contains("\"crash\":true", StringComparison.Ordinal)
                ? FakeFacilitator.WriteAsync(context, 500, """{"error":"unexpected input"}""")
                : FakeFacilitator.WriteAsync(context, 200, """{"isValid":true}"""));
        }

        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url)));
        var attacker = PaymentSigner.CreatePayer(2004);
        for (var i = 0; i < 3; i++)
        {
            // The version mismatch itself is refused before any upstream is asked.
            var mismatched = PaymentSigner.Request(attacker, 2, Now - 600, Now + 1200, nonceSeed: 100 + i)
                .Replace("\"paymentPayload\":{\"x402Version\":2", "\"paymentPayload\":{\"x402Version\":3", StringComparison.Ordinal);
            using var refused = await gateway.PostAsync("/verify", mismatched);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

            // Any other input that makes every upstream fail is not the upstreams' fault: no upstream answered it properly.
            var crafted = PaymentSigner.Request(attacker, 2, Now - 600, Now + 1200, nonceSeed: 200 + i)
                .Replace("\"paymentPayload\":{\"x402Version\":2,", "\"paymentPayload\":{\"x402Version\":2,\"crash\":true,", StringComparison.Ordinal);
            using var response = await gateway.PostAsync("/verify", crafted);
            Assert.Equal("valid", Header(response, "X-Facilitator-Local-Verdict"));
        }

        Assert.Equal(0, primary.Received.Count(static r => r.BodyText.Contains("\"x402Version\":3", StringComparison.Ordinal)));

        using var merchant = await gateway.PostAsync("/verify", TestPayments.V2);

        var text = await merchant.Content.ReadAsStringAsync();
        Assert.True(
            merchant.StatusCode == HttpStatusCode.OK,
            $"three crafted verifies from one caller took every upstream out: a merchant's verify got {(int)merchant.StatusCode} {text}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // FollowAsync: an unchecked copy following a checked authorization.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// With <c>AssumeEoaPayers=false</c>, an unchecked copy of a checked authorization F (same fingerprint, another
    /// EIP-712 name) follows F's in-flight settlement under the payer's nonce key. FollowAsync re-reads that key on
    /// every wake-up but never checks that the record is still F's. F fails upstream (a failure spends no nonce); the
    /// payer's second authorization F2 under the same nonce (another value, another recipient) claims the key before
    /// the follower's read lands (here: the store delays that one read, as a busy thread pool or a Redis round trip
    /// does) and settles. The follower then reads F2's success and answers it to the copy of F: a success replayed to
    /// a different authorization.
    /// </summary>
    [Fact]
    public async Task Settle_UncheckedCopyFollowingACheckedClaim_NeverAnsweredAnotherAuthorizationsSuccess()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var releaseF = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const string F2Success = """{"success":true,"transaction":"0xf2f2","network":"eip155:84532","payer":"F2"}""";
        upstream.On("/settle", async context =>
        {
            var text = FakeFacilitator.RequestOf(context).BodyText;
            if (text.Contains("\"name\":\"USDX\"", StringComparison.Ordinal))
            {
                await FakeFacilitator.WriteAsync(context, 200, """{"success":false,"errorReason":"invalid_exact_evm_signature","transaction":"","network":"eip155:84532"}""");
            }
            else if (text.Contains("\"value\":\"20000\"", StringComparison.Ordinal))
            {
                await FakeFacilitator.WriteAsync(context, 200, F2Success);
            }
            else
            {
                await releaseF.Task;
                await FakeFacilitator.WriteAsync(context, 200, """{"success":false,"errorReason":"invalid_exact_evm_insufficient_balance","transaction":"","network":"eip155:84532"}""");
            }
        });

        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["LocalVerification:AssumeEoaPayers"] = "false";
        settings["Settlement:PollMs"] = "60000";
        settings["Settlement:WaitMs"] = "60000";
        DelayingStore? store = null;
        await using var gateway = await StartWithStoreAsync(settings, inner => store = new DelayingStore(inner));
        var waiters = gateway.Services.GetRequiredService<SettlementWaiters>();
        var payer = PaymentSigner.CreatePayer(2005);
        var f = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, "10000", "10000", nonceSeed: 5);
        var copy = f.Replace("\"name\":\"USDC\"", "\"name\":\"USDX\"", StringComparison.Ordinal);
        var f2 = PaymentSigner.Request(payer, 2, Now - 600, Now + 1200, "20000", "20000", nonceSeed: 5);

        var settleF = gateway.PostAsync("/settle", f);
        await Eventually.TrueAsync(() => upstream.CountOf("/settle") == 1, "F reaches the upstream");
        var readsBefore = store!.Reads;
        var settleCopy = gateway.PostAsync("/settle", copy);
        await Eventually.TrueAsync(() => waiters.Count == 1 && store.Reads >= readsBefore + 2, "the copy follows F's claim");
        await Task.Delay(100);
        var blocked = store.BlockNextRead();

        releaseF.SetResult();
        using (var failed = await settleF)
        {
            Assert.False(Json(await failed.Content.ReadAsStringAsync()).GetProperty("success").GetBoolean());
        }

        await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        using (var second = await gateway.PostAsync("/settle", f2))
        {
            Assert.Equal(F2Success, await second.Content.ReadAsStringAsync());
        }

        store.Release();
        using var copyAnswer = await settleCopy;

        var answer = await copyAnswer.Content.ReadAsStringAsync();
        Assert.True(
            answer != F2Success,
            $"the copy of F (value 10000) was answered F2's success (value 20000): {answer} ({Header(copyAnswer, "X-Facilitator-Settlement")})");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The in-memory store's byte bound.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// A write computes the queue items it will add before making room; when making room has to rebuild the queues
    /// (only stale items left to drop), the rebuild moves the record's live expiry item to its current expiry, and a
    /// write whose expiry lies between the old item and that expiry then enqueues an item nobody counted: the store
    /// ends above <see cref="InMemorySettlementStore.MaxBytes"/>, which it promises never to do.
    /// </summary>
    [Fact]
    public async Task InMemoryStore_WriteWhoseRoomNeedsTheQueuesRebuilt_StaysWithinItsBound()
    {
        const int answerBytes = 1000;
        var time = new ManualTimeProvider();
        var store = new InMemorySettlementStore(time, new SettlementWaiters(), 480 + answerBytes);
        var a = Sha256Hash.Of("a"u8);
        var b = Sha256Hash.Of("b"u8);
        var inFlight = new SettlementRecord(SettlementState.InFlight, a, true, "x", "claim", 0, false, false, 0, null, null, 0);

        Assert.NotNull(await store.ReplaceAsync(a, await store.ReadAsync(a), inFlight, TimeSpan.FromSeconds(100), false));
        Assert.NotNull(await store.ReplaceAsync(a, await store.ReadAsync(a), inFlight with { LeaseUntilMs = 1 }, TimeSpan.FromSeconds(200), false));
        Assert.NotNull(await store.ReplaceAsync(b, await store.ReadAsync(b), inFlight with { Fingerprint = b }, TimeSpan.FromSeconds(1000), false));
        Assert.NotNull(await store.ReplaceAsync(b, await store.ReadAsync(b), null, TimeSpan.Zero, false));
        Assert.True(store.Bytes <= store.MaxBytes);

        // The finished record does not fit with the queue items it needs: refused, or written, but never past the bound.
        var finished = inFlight with { State = SettlementState.Finished, StatusCode = 200, Body = new byte[answerBytes] };
        try
        {
            await store.ReplaceAsync(a, await store.ReadAsync(a), finished, TimeSpan.FromSeconds(150), false);
        }
        catch (SettlementLedgerUnavailableException)
        {
        }

        Assert.True(store.Bytes <= store.MaxBytes, $"{store.Bytes} bytes counted in a store bounded to {store.MaxBytes}");
    }

    /// <summary>
    /// Many mixed writes, rewrites, releases, evictions and expiries, verified and unverified, with the clock moving:
    /// the counted record bytes always equal the records' sizes, the unverified share equals the unverified records'
    /// sizes and stays within half the bound, nothing is negative, and once every record expired nothing is counted
    /// but queue items. (Held.)
    /// </summary>
    [Fact]
    public async Task InMemoryStore_ManyMixedWritesEvictionsAndExpiries_ByteAccountingStaysExact()
    {
        var time = new ManualTimeProvider();
        const long bound = 64 * 1024;
        var store = new InMemorySettlementStore(time, new SettlementWaiters(), bound);
        var random = new Random(20261201);
        var keys = Enumerable.Range(0, 300).Select(i => Sha256Hash.Of(Encoding.ASCII.GetBytes($"key {i}"))).ToArray();
        var refused = 0;
        for (var step = 0; step < 40_000; step++)
        {
            var index = random.Next(keys.Length);
            var key = keys[index];
            var verified = index % 3 != 0;
            var read = await store.ReadAsync(key);
            var state = (SettlementState)random.Next(3);
            SettlementRecord? next = random.Next(10) == 0
                ? null
                : new SettlementRecord(
                    state, key, verified, "x", "c", 0, false, random.Next(2) == 0, 200, random.Next(2) == 0 ? "application/json" : null,
                    state == SettlementState.Finished ? new byte[random.Next(0, 3000)] : null, 0);
            var keepFor = TimeSpan.FromMilliseconds(random.Next(1, 20_000));
            try
            {
                await store.ReplaceAsync(key, read, next, keepFor, false);
            }
            catch (SettlementLedgerUnavailableException)
            {
                refused++;
            }

            if (random.Next(20) == 0)
            {
                time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 3000)));
            }

            AssertAccounting(store, bound, step);
        }

        time.Advance(TimeSpan.FromHours(1));
        await store.ReadAsync(keys[0]);
        Assert.Equal(0, store.Count);
        Assert.Equal(0L, Field(store, "_recordBytes"));
        Assert.Equal(0L, Field(store, "_unverifiedBytes"));
        Assert.True(refused < 40_000);
    }

    private static void AssertAccounting(InMemorySettlementStore store, long bound, int step)
    {
        var entries = (System.Collections.IDictionary)typeof(InMemorySettlementStore).GetField("_entries", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(store)!;
        long all = 0, unverified = 0;
        foreach (var value in entries.Values)
        {
            var size = (int)value!.GetType().GetProperty("Size")!.GetValue(value)!;
            var record = (SettlementRecord)value.GetType().GetProperty("Record")!.GetValue(value)!;
            all += size;
            unverified += record.Verified ? 0 : size;
        }

        Assert.True(Field(store, "_recordBytes") == all, $"step {step}: record bytes {Field(store, "_recordBytes")} counted, {all} held");
        Assert.True(Field(store, "_unverifiedBytes") == unverified, $"step {step}: unverified bytes {Field(store, "_unverifiedBytes")} counted, {unverified} held");
        Assert.True(unverified <= bound / 2, $"step {step}: unverified records take {unverified} of {bound}");
        Assert.True(store.Bytes >= 0, $"step {step}: {store.Bytes} bytes");
    }

    private static long Field(InMemorySettlementStore store, string name) =>
        (long)typeof(InMemorySettlementStore).GetField(name, BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(store)!;

    // ---------------------------------------------------------------------------------------------------------------
    // Infrastructure of this file.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>The gateway as <see cref="GatewayHost"/> starts it, with its settlement store wrapped.</summary>
    private static async Task<OwnedGateway> StartWithStoreAsync(Dictionary<string, string?> settings, Func<InMemorySettlementStore, ISettlementStore> wrap)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["FACILITATOR_HEALTH_CHECK"] = "false",
            ["RateLimit:Enabled"] = "false",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        var app = Program.Build(
            ["--urls", "http://127.0.0.1:0"],
            configuration => configuration.AddInMemoryCollection(all),
            services => services.AddSingleton<ISettlementStore>(sp => wrap(sp.GetRequiredService<InMemorySettlementStore>())));
        await app.StartAsync();
        return new OwnedGateway(app);
    }

    private sealed class OwnedGateway(WebApplication app) : IAsyncDisposable
    {
        private readonly HttpClient _client = new() { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };

        public IServiceProvider Services => app.Services;

        public Task<HttpResponseMessage> PostAsync(string path, string json) =>
            _client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>The in-memory store, with one read that can be held back: a slow reader, as scheduling or a round trip makes one.</summary>
    private sealed class DelayingStore(InMemorySettlementStore inner) : ISettlementStore
    {
        private TaskCompletionSource? _armed;
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reads;

        public SettlementWaiters Waiters => inner.Waiters;

        public int Reads => Volatile.Read(ref _reads);

        /// <summary>Holds the next read until <see cref="Release"/>; the task completes when that read is being held.</summary>
        public Task BlockNextRead()
        {
            var armed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _armed, armed);
            return armed.Task;
        }

        public void Release() => _release.TrySetResult();

        public async ValueTask<StoredSettlement> ReadAsync(Sha256Hash key)
        {
            Interlocked.Increment(ref _reads);
            if (Interlocked.Exchange(ref _armed, null) is { } armed)
            {
                armed.SetResult();
                await _release.Task;
            }

            return await inner.ReadAsync(key);
        }

        public ValueTask<StoredSettlement?> ReplaceAsync(Sha256Hash key, StoredSettlement expected, SettlementRecord? next, TimeSpan keepFor, bool notify) =>
            inner.ReplaceAsync(key, expected, next, keepFor, notify);
    }
}
