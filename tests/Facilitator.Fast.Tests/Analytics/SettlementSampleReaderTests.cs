using System.Text;
using Facilitator.Fast.Analytics;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Analytics;

public sealed class SettlementSampleReaderTests
{
    private static readonly FeeSchedule Fees = new(10, 1000, 100_000_000);
    private const string BaseSepoliaUsdcLower = "0x036cbd53842c5426634e7929541ec2318f3dcf7e";

    private static (bool Read, Facilitator.Fast.State.AnalyticsSample Sample) Read(string body)
    {
        var read = SettlementSampleReader.TryRead(Encoding.UTF8.GetBytes(body), Fees, 42, 1_000, out var sample);
        return (read, sample);
    }

    [Fact]
    public void TryRead_V2Payment_AuthorizationValueCaip2NetworkAndLowerCaseAsset()
    {
        var body = PaymentSigner.Request(PaymentSigner.CreatePayer(1), 2, 0, 2_000_000_000, value: "2500000", amount: "2000000");

        var (read, sample) = Read(body);

        Assert.True(read);
        Assert.Equal("eip155:84532", sample.Series.Network);
        Assert.Equal(BaseSepoliaUsdcLower, sample.Series.Asset);
        Assert.Equal("2500000", sample.Volume.ToString());
        Assert.Equal("2500", sample.FeeMicros.ToString());
        Assert.Equal(42, sample.SettlementMs);
        Assert.Equal(1_000, sample.AtMs);
    }

    [Fact]
    public void TryRead_V1NetworkName_CountedUnderItsCaip2Id()
    {
        var (read, sample) = Read(PaymentSigner.Request(PaymentSigner.CreatePayer(1), 1, 0, 2_000_000_000));

        Assert.True(read);
        Assert.Equal("eip155:84532", sample.Series.Network);
        Assert.Equal("10000", sample.Volume.ToString());
    }

    [Theory]
    [InlineData(2, "\"amount\":\"7000000\"", "7000000")]
    [InlineData(1, "\"maxAmountRequired\":\"9000000\"", "9000000")]
    public void TryRead_NoAuthorization_RequirementsAmountOfTheVersion(int version, string amountField, string expected)
    {
        var body = "{\"x402Version\":" + version + ",\"paymentPayload\":{\"x402Version\":" + version
            + ",\"scheme\":\"exact\",\"network\":\"solana\",\"payload\":{\"transaction\":\"AQID\"}},"
            + "\"paymentRequirements\":{\"scheme\":\"exact\",\"network\":\"solana\"," + amountField
            + ",\"asset\":\"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v\",\"payTo\":\"x\"}}";

        var (read, sample) = Read(body);

        Assert.True(read);
        Assert.Equal("solana", sample.Series.Network);
        Assert.Equal("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", sample.Series.Asset);
        Assert.Equal(expected, sample.Volume.ToString());
    }

    [Fact]
    public void TryRead_UnknownAsset_VolumeCountedFeeZero()
    {
        var body = PaymentSigner.Request(
            PaymentSigner.CreatePayer(1), 2, 0, 2_000_000_000, value: "5000000000000000000", amount: "5000000000000000000",
            token: ("Other", "1", "0x1111111111111111111111111111111111111111"));

        var (read, sample) = Read(body);

        Assert.True(read);
        Assert.Equal("0x1111111111111111111111111111111111111111", sample.Series.Asset);
        Assert.Equal("5000000000000000000", sample.Volume.ToString());
        Assert.True(sample.FeeMicros.IsZero);
    }

    [Fact]
    public void TryRead_Uint256MaxValue_Exact()
    {
        const string max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        var body = PaymentSigner.Request(PaymentSigner.CreatePayer(1), 2, 0, 2_000_000_000, value: max, amount: max);

        var (read, sample) = Read(body);

        Assert.True(read);
        Assert.Equal(max, sample.Volume.ToString());
        Assert.Equal("100000000", sample.FeeMicros.ToString());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"x402Version":2,"paymentPayload":{"x402Version":2},"paymentRequirements":{"network":"eip155:8453","asset":"0xabc"}}""")]
    [InlineData("""{"x402Version":2,"paymentPayload":{"x402Version":2},"paymentRequirements":{"network":"eip155:8453","asset":"0xabc","amount":"1e6"}}""")]
    [InlineData("""{"x402Version":2,"paymentPayload":{"x402Version":2},"paymentRequirements":{"network":"eip155|8453","asset":"0xabc","amount":"1"}}""")]
    [InlineData("""{"x402Version":2,"paymentPayload":{"x402Version":2},"paymentRequirements":{"network":"eip155:8453","amount":"1"}}""")]
    public void TryRead_NothingCountable_False(string body) => Assert.False(Read(body).Read);
}
