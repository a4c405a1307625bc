using System.Net;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// An instance without Redis (the fallback setting has no part here) whose upstream answers a settle with more than the
/// in-memory ledger's whole bound: the outcome cannot be recorded, so the ledger keeps the claim naming that upstream.
/// </summary>
public sealed class LedgerRecordBoundReviewTests(ITestOutputHelper output)
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static readonly string Huge =
        $$"""{"success":true,"transaction":"0xfeed","network":"eip155:84532","receipt":"{{new string('h', 1_200_000)}}"}""";

    private const string Settled = """{"success":true,"transaction":"0xbeef","network":"eip155:84532"}""";

    /// <summary>
    /// The first settle is answered with the success; repeats (in the lease, and after it lapsed) never reach the other
    /// upstream, never answer 500 nor a failure, and another payment's recorded success is kept (nothing was evicted
    /// for a record that could never fit).
    /// </summary>
    [Fact]
    public async Task Settle_StandaloneAnswerLargerThanTheBound_NeverAnotherUpstreamNorAFailureAndNothingEvicted()
    {
        await using var first = await FakeFacilitator.StartAsync();
        await using var second = await FakeFacilitator.StartAsync();
        first.Answer("/settle", 200, Settled);
        second.Answer("/settle", 200, Settled);
        var settings = GatewayHost.Upstreams(("first", first.Url), ("second", second.Url));
        settings["Settlement:MaxMemoryBytes"] = (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Aggregator:MaxResponseBodyBytes"] = (4 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Settlement:WaitMs"] = "300";
        settings["Settlement:LeaseMs"] = "1000";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var small = PaymentSigner.Request(PaymentSigner.CreatePayer(9411), 2, Now - 600, Now + 1200, nonceSeed: 51);
        var large = PaymentSigner.Request(PaymentSigner.CreatePayer(9412), 2, Now - 600, Now + 1200, nonceSeed: 52);

        using (var smallSettled = await gateway.PostAsync("/settle", small))
        {
            Assert.Equal(Settled, await smallSettled.Content.ReadAsStringAsync());
        }

        first.Answer("/settle", 200, Huge);
        using (var settled = await gateway.PostAsync("/settle", large))
        {
            Assert.Equal(HttpStatusCode.OK, settled.StatusCode);
            Assert.Equal(Huge, await settled.Content.ReadAsStringAsync());
        }

        var store = gateway.Services.GetRequiredService<ISettlementStore>() as InMemorySettlementStore;
        using (var during = await gateway.PostAsync("/settle", large))
        {
            var answer = await during.Content.ReadAsStringAsync();
            output.WriteLine($"repeat in the lease: {(int)during.StatusCode} {answer[..Math.Min(160, answer.Length)]}");
            Assert.Contains(during.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted });
            Assert.DoesNotContain("\"success\":false,\"errorReason\":\"invalid", answer, StringComparison.Ordinal);
        }

        var leaseEnds = DateTimeOffset.UtcNow.AddMilliseconds(1500);
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > leaseEnds, "the claim's lease lapses");
        using (var after = await gateway.PostAsync("/settle", large))
        {
            var answer = await after.Content.ReadAsStringAsync();
            output.WriteLine($"repeat after the lease: {(int)after.StatusCode} {answer[..Math.Min(160, answer.Length)]}; first saw {first.CountOf("/settle")}, second {second.CountOf("/settle")}");
            Assert.Contains(after.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Accepted });
        }

        Assert.Equal(0, second.CountOf("/settle"));
        var sent = first.CountOf("/settle");
        using (var smallAgain = await gateway.PostAsync("/settle", small))
        {
            Assert.Equal(Settled, await smallAgain.Content.ReadAsStringAsync());
        }

        Assert.Equal(sent, first.CountOf("/settle"));
        if (store is not null)
        {
            output.WriteLine($"ledger bytes {store.Bytes} of {store.MaxBytes}, evicted {store.Evicted}");
            Assert.Equal(0, store.Evicted);
            Assert.True(store.Bytes <= store.MaxBytes);
        }
    }
}
