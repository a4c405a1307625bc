using System.Net;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

using static Facilitator.Fast.Tests.Settlement.SmallFallback;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// The local settlement fallback when its copies of Redis's records run out of room (<c>Settlement:MaxMemoryBytes</c>
/// at its least, answers larger than it): a settlement whose copy did not fit is never settled afresh while Redis is away.
/// </summary>
public sealed class FallbackCopyBoundTests(ITestOutputHelper output)
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A successful settle answer larger than the copies' whole bound (1 MiB).</summary>
    private static readonly string LargeSettled =
        SettledWithReceipt(1_200_000, 'r');

    /// <summary>
    /// This instance settles; the success is in Redis but its copy does not fit, so the copy of the claim would be all
    /// the fallback knows. Redis stops: a repeat is answered pending from that mark, never sent to the upstream again.
    /// </summary>
    [Fact]
    public async Task Settle_OwnOutcomeCopyDoesNotFitThenRedisStops_RepeatAnsweredPendingNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, LargeSettled);
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream));
        var payment = PaymentSigner.Request(PaymentSigner.CreatePayer(981), 2, Now - 600, Now + 1200, nonceSeed: 81);

        using (var first = await gateway.PostAsync("/settle", payment))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal(LargeSettled, await first.Content.ReadAsStringAsync());
        }

        await StopRedisAsync(redis, gateway);
        using var repeat = await gateway.PostAsync("/settle", payment);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"repeat while Redis is away: {(int)repeat.StatusCode} {answer[..Math.Min(200, answer.Length)]}; upstream saw {upstream.CountOf("/settle")}");
        Assert.Equal(1, upstream.CountOf("/settle"));
        Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
        Assert.Contains("settlement_pending", answer, StringComparison.Ordinal);
    }

    /// <summary>A successful settle answer of about 600 KB: one fits the copies' bound (1 MiB), two do not.</summary>
    private static readonly string HalfBoundSettled =
        SettledWithReceipt(600_000, 'h');

    /// <summary>
    /// Instance B settles two payments; repeats on A are replayed from Redis and A copies both, the second copy evicting
    /// the first (A then holds nothing of it). Redis stops: A must not settle the first afresh on its fallback — it
    /// refuses (503), as it then does any key it holds nothing of until the evicted copy would have expired.
    /// </summary>
    [Fact]
    public async Task Settle_ReadCopyEvictedForRoomThenRedisStops_RepeatRefusedNotSentAgain()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, HalfBoundSettled);
        var settings = Settings(redis, upstream);
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);
        var first = PaymentSigner.Request(PaymentSigner.CreatePayer(982), 2, Now - 600, Now + 1200, nonceSeed: 82);
        var second = PaymentSigner.Request(PaymentSigner.CreatePayer(984), 2, Now - 600, Now + 1200, nonceSeed: 84);

        foreach (var payment in new[] { first, second })
        {
            using (var onB = await b.PostAsync("/settle", payment))
            {
                Assert.Equal(HttpStatusCode.OK, onB.StatusCode);
            }

            using var replayed = await a.PostAsync("/settle", payment);
            Assert.Equal(HalfBoundSettled, await replayed.Content.ReadAsStringAsync());
        }

        await StopRedisAsync(redis, a, b);
        using var repeat = await a.PostAsync("/settle", first);
        var answer = await repeat.Content.ReadAsStringAsync();
        output.WriteLine($"repeat on A while Redis is away: {(int)repeat.StatusCode} {answer[..Math.Min(200, answer.Length)]}; upstream saw {upstream.CountOf("/settle")}");
        Assert.Equal(2, upstream.CountOf("/settle"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, repeat.StatusCode);

        var fresh = PaymentSigner.Request(PaymentSigner.CreatePayer(983), 2, Now - 600, Now + 1200, nonceSeed: 83);
        using var other = await a.PostAsync("/settle", fresh);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, other.StatusCode);
        Assert.Equal(2, upstream.CountOf("/settle"));
    }
}
