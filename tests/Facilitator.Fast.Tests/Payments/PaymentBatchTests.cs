using System.Net;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>Batches: every item answered on its own and in order; an empty or over-long batch is a 400 with details.</summary>
public sealed class PaymentBatchTests
{
    [Fact]
    public async Task VerifyBatch_OneBadItem_FailsOnlyItselfInOrder()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var body = $$"""{"payments":[{{Payment(301, 1)}},{"x402Version":2},{{Payment(301, 2, validBefore: Now - 5)}},{{Payment(301, 3)}}]}""";

        using var response = await gateway.PostAsync("/v1/verify/batch", body);
        var answer = await JsonOf(response);
        var results = answer.GetProperty("results").EnumerateArray().ToArray();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4, answer.GetProperty("total").GetInt32());
        Assert.Equal(2, answer.GetProperty("succeeded").GetInt32());
        Assert.Equal(2, answer.GetProperty("failed").GetInt32());
        Assert.Equal([0, 1, 2, 3], results.Select(static r => r.GetProperty("index").GetInt32()));
        Assert.True(results[0].GetProperty("success").GetBoolean());
        Assert.Equal("VALIDATION_ERROR", results[1].GetProperty("code").GetString());
        Assert.Equal("EXPIRED_PROOF", results[2].GetProperty("code").GetString());
        Assert.True(results[3].GetProperty("success").GetBoolean());
        Assert.NotEqual(results[0].GetProperty("paymentId").GetString(), results[3].GetProperty("paymentId").GetString());
    }

    [Theory]
    [InlineData("""{"payments":[]}""")]
    [InlineData("""{"payments":{}}""")]
    [InlineData("""{}""")]
    [InlineData("""{"payments":[1,2,3""")]
    public async Task VerifyBatch_EmptyOrNotAList_400WithDetails(string body)
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.PostAsync("/v1/verify/batch", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("VALIDATION_ERROR", (await JsonOf(response)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Batches_OverAHundred_400NamingTheField()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var ids = string.Join(",", Enumerable.Range(0, 101).Select(static _ => $"\"{Guid.NewGuid()}\""));

        using var settle = await gateway.PostAsync("/v1/settle/batch", $$"""{"paymentIds":[{{ids}}]}""");
        using var status = await gateway.PostAsync("/v1/status/batch", $$"""{"paymentIds":[{{ids}}]}""");
        using var verify = await gateway.PostAsync("/v1/verify/batch", $$"""{"payments":[{{string.Join(",", Enumerable.Repeat("{}", 101))}}]}""");

        foreach (var response in new[] { settle, status, verify })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var error = (await JsonOf(response)).GetProperty("error");
            Assert.Equal("VALIDATION_ERROR", error.GetProperty("code").GetString());
            Assert.True(error.GetProperty("details").GetArrayLength() > 0);
        }

        Assert.Equal(0, upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task SettleBatch_MixedItems_EachAnsweredOnItsOwn()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var first = await VerifiedIdAsync(gateway, Payment(302, 1));
        var second = await VerifiedIdAsync(gateway, Payment(302, 2));
        var unknown = Guid.NewGuid().ToString();

        using var response = await gateway.PostAsync("/v1/settle/batch", $$"""{"paymentIds":["{{first}}","not-a-uuid","{{unknown}}","{{second}}"]}""");
        var answer = await JsonOf(response);
        var results = answer.GetProperty("results").EnumerateArray().ToArray();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4, answer.GetProperty("total").GetInt32());
        Assert.Equal(2, answer.GetProperty("succeeded").GetInt32());
        Assert.Equal(first, results[0].GetProperty("paymentId").GetString());
        Assert.Equal("settled", results[0].GetProperty("status").GetString());
        Assert.Equal("VALIDATION_ERROR", results[1].GetProperty("code").GetString());
        Assert.Equal("NOT_FOUND", results[2].GetProperty("code").GetString());
        Assert.Equal("0xfeed", results[3].GetProperty("transaction").GetString());
        Assert.Equal(2, upstream.CountOf("/settle"));
    }

    [Fact]
    public async Task StatusBatch_KnownUnknownAndMalformed_InOrder()
    {
        await using var upstream = await UpstreamAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var known = await VerifiedIdAsync(gateway, Payment(303, 1));

        using var response = await gateway.PostAsync("/v1/status/batch", $$"""{"paymentIds":["{{known}}","{{Guid.NewGuid()}}","x"]}""");
        var results = (await JsonOf(response)).GetProperty("results").EnumerateArray().ToArray();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(results[0].GetProperty("found").GetBoolean());
        Assert.Equal("verified", results[0].GetProperty("payment").GetProperty("status").GetString());
        Assert.False(results[1].GetProperty("found").GetBoolean());
        Assert.Equal("VALIDATION_ERROR", results[2].GetProperty("code").GetString());
    }
}
