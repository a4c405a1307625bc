using System.Net;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>
/// <c>/v1/verify</c> with the seed's <c>{proof, requirements}</c>: every committed vector (signed with viem) through the
/// real service at the vector's time — valid ones become payments (and settle), refused ones get the seed's code —
/// and the same authorization in the x402 shape gets the same payment id.
/// </summary>
public sealed class SeedShapeVerifyTests
{
    public static TheoryData<string> Names => new(SeedVectors.All.Select(static c => c.Name));

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync()
    {
        var upstream = await UpstreamAsync();
        var time = new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(SeedVectors.Now));
        return (await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)), time), upstream);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Verify_SeedVector_AnsweredAsTheVectorSays(string name)
    {
        var vector = SeedVectors.All.Single(c => c.Name == name);
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        using var response = await gateway.PostAsync("/v1/verify", vector.Body);
        var answer = await JsonOf(response);

        if (vector.Code is { } code)
        {
            Assert.Equal(vector.Status, (int)response.StatusCode);
            Assert.Equal(code, answer.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(0, upstream.CountOf("/verify"));
        }
        else if (vector.Local == "invalid")
        {
            var expected = PaymentProblem.ForLocalCheck(Enum.Parse<Facilitator.Fast.Evm.LocalCheck>(vector.Check!));
            Assert.Equal(expected.Status, (int)response.StatusCode);
            Assert.Equal(expected.Code, answer.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal(0, upstream.CountOf("/verify"));
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("verified", answer.GetProperty("status").GetString());
            Assert.Equal(vector.Signer, answer.GetProperty("payment").GetProperty("payer").GetString(), StringComparer.OrdinalIgnoreCase);
            var forwarded = upstream.Received.Single(static r => r.Path == "/verify").BodyText;
            Assert.Equal(vector.X402, forwarded);
        }
    }

    [Fact]
    public async Task VerifyThenSettle_SeedShape_SettlesTheTranslatedRequest()
    {
        var vector = SeedVectors.All.First(static c => c.Kind == "valid");
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        var id = await VerifiedIdAsync(gateway, System.Text.Encoding.UTF8.GetString(vector.Body));
        using var settled = await SettleAsync(gateway, id);

        Assert.Equal("settled", (await JsonOf(settled)).GetProperty("status").GetString());
        Assert.Equal(vector.X402, upstream.Received.Single(static r => r.Path == "/settle").BodyText);
    }

    [Fact]
    public async Task Verify_SameAuthorizationInBothShapes_OnePaymentId()
    {
        var vector = SeedVectors.All.First(static c => c.Kind == "valid");
        var (gateway, upstream) = await StartAsync();
        await using var _ = gateway;
        await using var __ = upstream;

        var seed = await VerifiedIdAsync(gateway, System.Text.Encoding.UTF8.GetString(vector.Body));
        var x402 = await VerifiedIdAsync(gateway, vector.X402!);

        Assert.Equal(seed, x402);
        Assert.Equal(1, upstream.CountOf("/verify"));
    }
}
