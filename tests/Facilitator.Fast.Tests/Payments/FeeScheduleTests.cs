using System.Numerics;
using Facilitator.Fast.Payments;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>The seed's fee model and its examples.</summary>
public sealed class FeeScheduleTests
{
    private static readonly FeeSchedule Defaults = FeeSchedule.From(new PaymentsOptions());

    [Theory]
    [InlineData("100", "0.1")]
    [InlineData("0.1", "0.001")]
    [InlineData("1000000", "100")]
    [InlineData("1.5", "0.0015")]
    [InlineData("0", "0.001")]
    public void Fee_SeedsExamples_AmountTimesRateClamped(string amount, string fee)
    {
        Assert.True(TokenAmount.TryParse(amount, 6, out var atomic));
        Assert.Equal(fee, Defaults.Fee(atomic, 6));
    }

    [Fact]
    public void Fee_RateZero_NoFee() =>
        Assert.Equal("0", FeeSchedule.From(new PaymentsOptions { FeeRateBps = 0 }).Fee(new BigInteger(5_000_000), 6));

    [Fact]
    public void Fee_EighteenDecimals_SameInTokenUnits() =>
        Assert.Equal("0.1", Defaults.Fee(BigInteger.Parse("100000000000000000000", System.Globalization.CultureInfo.InvariantCulture), 18));

    [Theory]
    [InlineData("Payments:FeeRateBps", -1, "0.001", "100")]
    [InlineData("Payments:MinFee", 10, "abc", "100")]
    [InlineData("Payments:MaxFee", 10, "1", "0.5")]
    public void From_BadSetting_NamesIt(string setting, int bps, string min, string max)
    {
        var ex = Assert.Throws<InvalidSettingException>(() => FeeSchedule.From(new PaymentsOptions { FeeRateBps = bps, MinFee = min, MaxFee = max }));
        Assert.Contains(setting, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.00", 6, "1000000")]
    [InlineData("0.000001", 6, "1")]
    [InlineData("1.0000001", 6, null)]
    [InlineData("-1", 6, null)]
    [InlineData("1e6", 6, null)]
    [InlineData(".5", 6, null)]
    [InlineData("5.", 6, null)]
    public void TokenAmount_TryParse_ExactOrRefused(string text, int decimals, string? atomic)
    {
        var ok = TokenAmount.TryParse(text, decimals, out var value);
        Assert.Equal(atomic is not null, ok);
        if (atomic is not null)
        {
            Assert.Equal(atomic, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
