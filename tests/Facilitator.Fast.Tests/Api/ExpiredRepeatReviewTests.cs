using System.Net;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Facilitator.Fast.Tests.Settlement;
using Microsoft.Extensions.DependencyInjection;

namespace Facilitator.Fast.Tests.Api;

/// <summary>
/// A settle refused locally for its validity window is looked up in the settlement ledger: attacked end to end with
/// a real Redis and a real upstream on loopback, for when the ledger cannot be read, for authorizations that were
/// never settled, for the not-yet-valid, for /verify and for the fallback's rule on its own dropped successes.
/// </summary>
public sealed class ExpiredRepeatReviewTests(ITestOutputHelper output)
{
    private const string Settled = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""";

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static async Task<(int Status, string Body, string? RetryAfter)> PostAsync(GatewayHost gateway, string path, string body)
    {
        using var response = await gateway.PostAsync(path, body);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.RetryAfter?.ToString());
    }

    /// <summary>An expired authorization never settled, with Redis up: a clear failure naming the window, nothing sent.</summary>
    [Fact]
    public async Task Settle_ExpiredNeverSettledRedisUp_ClearFailure()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));
        var expired = PaymentSigner.Request(PaymentSigner.CreatePayer(9501), 2, Now - 600, Now - 60, nonceSeed: 1);

        var (status, body, _) = await PostAsync(gateway, "/settle", expired);
        output.WriteLine($"{status} {body}");
        Assert.Equal(200, status);
        Assert.Contains("valid_before", body, StringComparison.Ordinal);
        Assert.Contains("\"success\":false", body, StringComparison.Ordinal);
        Assert.Equal(0, upstream.CountOf("/settle"));
    }

    /// <summary>No Redis configured: the in-memory ledger is always readable, so an expired settle is a clear failure.</summary>
    [Fact]
    public async Task Settle_ExpiredNeverSettledNoRedis_ClearFailure()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        foreach (var version in new[] { 1, 2 })
        {
            var expired = PaymentSigner.Request(PaymentSigner.CreatePayer(9502), version, Now - 600, Now - 60, nonceSeed: version);
            var (status, body, _) = await PostAsync(gateway, "/settle", expired);
            output.WriteLine($"v{version}: {status} {body}");
            Assert.Equal(200, status);
            Assert.Contains("valid_before", body, StringComparison.Ordinal);
        }

        Assert.Equal(0, upstream.CountOf("/settle"));
    }

    /// <summary>
    /// Redis stops (fallback off): an expired authorization never settled is answered 503 with Retry-After 1, naming
    /// neither Redis's address nor anything else of the configuration, nothing sent; the refusal lasts only while Redis
    /// is away — once it answers again the same request gets the clear failure.
    /// </summary>
    [Fact]
    public async Task Settle_ExpiredNeverSettledRedisDown_503OnlyUntilRedisAnswers()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        var settings = redis.GatewaySettings(("only", upstream.Url));
        await using var gateway = await GatewayHost.StartAsync(settings);
        var expired = PaymentSigner.Request(PaymentSigner.CreatePayer(9503), 2, Now - 600, Now - 60, nonceSeed: 3);
        var expiredV1 = PaymentSigner.Request(PaymentSigner.CreatePayer(9503), 1, Now - 600, Now - 60, nonceSeed: 4);
        await SmallFallback.StopRedisAsync(redis, gateway);

        foreach (var request in new[] { expired, expiredV1 })
        {
            var (status, body, retryAfter) = await PostAsync(gateway, "/settle", request);
            output.WriteLine($"Redis away: {status} retry-after {retryAfter} {body}");
            Assert.Equal(503, status);
            Assert.Equal("1", retryAfter);
            Assert.Contains("unexpected_settle_error", body, StringComparison.Ordinal);
            Assert.DoesNotContain(settings["Redis:ConnectionString"]!, body, StringComparison.Ordinal);
            Assert.DoesNotContain(settings["Redis:KeyPrefix"]!, body, StringComparison.Ordinal);
            Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
        }

        await redis.StartAgainAsync();
        var connection = gateway.Services.GetRequiredService<RedisConnection>();
        await Eventually.TrueAsync(() => connection.IsConnected, "the instance sees Redis again", 30_000);
        await Eventually.TrueAsync(async () => (await PostAsync(gateway, "/settle", expired)).Status == 200, "the expired settle is answered again", 30_000);
        var (after, answer, _) = await PostAsync(gateway, "/settle", expired);
        output.WriteLine($"Redis back: {after} {answer}");
        Assert.Contains("valid_before", answer, StringComparison.Ordinal);
        Assert.Equal(0, upstream.CountOf("/settle"));
    }

    /// <summary>/verify of an expired authorization never consults the ledger: with Redis away it is still a clear failure.</summary>
    [Fact]
    public async Task Verify_ExpiredRedisDown_ClearFailure()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));
        await SmallFallback.StopRedisAsync(redis, gateway);
        var expired = PaymentSigner.Request(PaymentSigner.CreatePayer(9504), 2, Now - 600, Now - 60, nonceSeed: 5);

        var (status, body, _) = await PostAsync(gateway, "/verify", expired);
        output.WriteLine($"{status} {body}");
        Assert.Equal(200, status);
        Assert.Contains("valid_before", body, StringComparison.Ordinal);
        Assert.Equal(0, upstream.CountOf("/verify"));
    }

    /// <summary>Not yet valid (validAfter ahead), Redis up: a clear failure naming validAfter, nothing sent.</summary>
    [Fact]
    public async Task Settle_NotYetValidRedisUp_ClearFailure()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));
        var early = PaymentSigner.Request(PaymentSigner.CreatePayer(9505), 2, Now + 3600, Now + 7200, nonceSeed: 6);

        var (status, body, _) = await PostAsync(gateway, "/settle", early);
        output.WriteLine($"{status} {body}");
        Assert.Equal(200, status);
        Assert.Contains("valid_after", body, StringComparison.Ordinal);
        Assert.Equal(0, upstream.CountOf("/settle"));
    }

    /// <summary>
    /// Not yet valid (validAfter ahead), Redis away: it cannot have been settled yet, but the ledger is unreadable, so
    /// a 503 with Retry-After is tolerable — yet its message must not call the authorization expired, nothing sent.
    /// </summary>
    [Fact]
    public async Task Settle_NotYetValidRedisDown_503DoesNotCallItExpired()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));
        await SmallFallback.StopRedisAsync(redis, gateway);
        var early = PaymentSigner.Request(PaymentSigner.CreatePayer(9513), 2, Now + 3600, Now + 7200, nonceSeed: 14);

        var (status, body, retryAfter) = await PostAsync(gateway, "/settle", early);
        output.WriteLine($"{status} retry-after {retryAfter} {body}");
        Assert.Equal(0, upstream.CountOf("/settle"));
        Assert.True(status == 200 && body.Contains("valid_after", StringComparison.Ordinal) || status == 503 && retryAfter == "1", $"{status} {body}");
        Assert.DoesNotContain("expired", body, StringComparison.Ordinal);
    }

    /// <summary>
    /// An expired copy with a forged signature of a settled authorization (same payer, nonce, window), Redis up: the
    /// stranger must not be handed the settled answer as if the copy were the payer's.
    /// </summary>
    [Fact]
    public async Task Settle_ExpiredForgedCopyOfSettled_NotReplayed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));
        var validBefore = Now + 10;
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(9506), 2, Now - 600, validBefore, nonceSeed: 7);
        Assert.Equal(Settled, (await PostAsync(gateway, "/settle", payment)).Body);
        await Eventually.TrueAsync(() => Now > validBefore + 1, "the payment expires", 30_000);

        var signatureAt = payment.IndexOf("\"signature\":\"0x", StringComparison.Ordinal) + 15;
        var forged = payment[..signatureAt] + (payment[signatureAt] == 'a' ? 'b' : 'a') + payment[(signatureAt + 1)..];
        var (status, body, _) = await PostAsync(gateway, "/settle", forged);
        output.WriteLine($"forged expired copy: {status} {body}");
        Assert.DoesNotContain("0xfeed", body, StringComparison.Ordinal);
        Assert.Equal(1, upstream.CountOf("/settle"));

        var (again, replay, _) = await PostAsync(gateway, "/settle", payment);
        output.WriteLine($"the payer's expired repeat: {again} {replay}");
        Assert.Equal(Settled, replay);
    }

    /// <summary>
    /// Fallback on. P0 settles with Redis up (its success copied). Redis stops; P1 and P2 settle on the fallback, P2's
    /// success dropping P1's for room. A repeat of P0 — a finished success the copy holds, which nothing local can
    /// outdate — should be replayed, not refused for the fallback's own dropped record.
    /// </summary>
    [Fact]
    public async Task Settle_CopiedSuccessAfterFallbackDroppedOwn_Replayed()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, Settled);
        await using var gateway = await GatewayHost.StartAsync(SmallFallback.Settings(redis, upstream));
        var p0 = PaymentSigner.Request(PaymentSigner.CreatePayer(9507), 2, Now - 600, Now + 1200, nonceSeed: 8);
        var p1 = PaymentSigner.Request(PaymentSigner.CreatePayer(9508), 2, Now - 600, Now + 1200, nonceSeed: 9);
        var p2 = PaymentSigner.Request(PaymentSigner.CreatePayer(9509), 2, Now - 600, Now + 1200, nonceSeed: 10);
        Assert.Equal(Settled, (await PostAsync(gateway, "/settle", p0)).Body);

        await SmallFallback.StopRedisAsync(redis, gateway);
        var medium = SmallFallback.SettledWithReceipt(600_000, 'm');
        upstream.Answer("/settle", 200, medium);
        Assert.Equal(medium, (await PostAsync(gateway, "/settle", p1)).Body);
        Assert.Equal(medium, (await PostAsync(gateway, "/settle", p2)).Body);
        Assert.Equal(3, upstream.CountOf("/settle"));

        var (status, body, _) = await PostAsync(gateway, "/settle", p0);
        output.WriteLine($"P0 again: {status} {SmallFallback.Short(body)}");
        Assert.Equal(3, upstream.CountOf("/settle"));
        Assert.Equal(Settled, body);
    }

    /// <summary>
    /// Fallback on, Redis away: once the fallback dropped one success of its own, a fresh payment of a stranger is
    /// refused (503, nothing sent) — the fallback is off for new keys; it is bounded by the outage: with Redis back the
    /// same payment settles.
    /// </summary>
    [Fact]
    public async Task Settle_FreshKeyAfterFallbackDroppedOwn_RefusedOnlyWhileRedisAway()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var medium = SmallFallback.SettledWithReceipt(600_000, 'm');
        upstream.Answer("/settle", 200, medium);
        await using var gateway = await GatewayHost.StartAsync(SmallFallback.Settings(redis, upstream));
        await SmallFallback.StopRedisAsync(redis, gateway);
        var p1 = PaymentSigner.Request(PaymentSigner.CreatePayer(9510), 2, Now - 600, Now + 1200, nonceSeed: 11);
        var p2 = PaymentSigner.Request(PaymentSigner.CreatePayer(9511), 2, Now - 600, Now + 1200, nonceSeed: 12);
        var fresh = PaymentSigner.Request(PaymentSigner.CreatePayer(9512), 2, Now - 600, Now + 1200, nonceSeed: 13);
        Assert.Equal(medium, (await PostAsync(gateway, "/settle", p1)).Body);
        Assert.Equal(medium, (await PostAsync(gateway, "/settle", p2)).Body);

        var (status, body, _) = await PostAsync(gateway, "/settle", fresh);
        output.WriteLine($"fresh while Redis away: {status} {SmallFallback.Short(body)}");
        Assert.Equal(503, status);
        Assert.Equal(2, upstream.CountOf("/settle"));

        await redis.StartAgainAsync();
        var connection = gateway.Services.GetRequiredService<RedisConnection>();
        await Eventually.TrueAsync(() => connection.IsConnected, "the instance sees Redis again", 30_000);
        upstream.Answer("/settle", 200, Settled);
        await Eventually.TrueAsync(async () => (await PostAsync(gateway, "/settle", fresh)).Status == 200, "the fresh payment settles", 30_000);
        Assert.Equal(3, upstream.CountOf("/settle"));
    }

    /// <summary>
    /// Redis away (fallback off): an expired body whose nonce is malformed gets a clear failure, never a 503 nor a 500 —
    /// the ledger lookup needs an identity, which it does not have.
    /// </summary>
    [Fact]
    public async Task Settle_ExpiredMalformedNonceRedisDown_ClearFailureNot503()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(redis.GatewaySettings(("only", upstream.Url)));
        await SmallFallback.StopRedisAsync(redis, gateway);
        var expired = PaymentSigner.Request(PaymentSigner.CreatePayer(9514), 2, Now - 600, Now - 60, nonceSeed: 15);
        var nonceAt = expired.IndexOf("\"nonce\":\"", StringComparison.Ordinal) + 9;
        var nonceEnd = expired.IndexOf('"', nonceAt);
        foreach (var nonce in new[] { "0x12", "zz", "" })
        {
            var malformed = expired[..nonceAt] + nonce + expired[nonceEnd..];
            var (status, body, _) = await PostAsync(gateway, "/settle", malformed);
            output.WriteLine($"nonce '{nonce}': {status} {body}");
            Assert.NotEqual(500, status);
            Assert.NotEqual(503, status);
            Assert.Contains("\"success\":false", body, StringComparison.Ordinal);
        }

        Assert.Equal(0, upstream.CountOf("/settle"));
    }

    /// <summary>
    /// Fallback on, Redis away, the fallback's records complete: an expired authorization never settled is still a clear
    /// failure (the fallback can read), nothing sent.
    /// </summary>
    [Fact]
    public async Task Settle_ExpiredNeverSettledFallbackComplete_ClearFailure()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(SmallFallback.Settings(redis, upstream));
        await SmallFallback.StopRedisAsync(redis, gateway);
        var expired = PaymentSigner.Request(PaymentSigner.CreatePayer(9515), 2, Now - 600, Now - 60, nonceSeed: 16);

        var (status, body, _) = await PostAsync(gateway, "/settle", expired);
        output.WriteLine($"{status} {body}");
        Assert.Equal(200, status);
        Assert.Contains("valid_before", body, StringComparison.Ordinal);
        Assert.Equal(0, upstream.CountOf("/settle"));
    }
}
