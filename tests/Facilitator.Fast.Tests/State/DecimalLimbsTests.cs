using System.Globalization;
using System.Numerics;
using System.Text;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Tests.State;

public sealed class DecimalLimbsTests
{
    private static readonly BigInteger Uint256Max = (BigInteger.One << 256) - 1;

    [Fact]
    public void TryParse_ThirteenDigits_SplitsAtTwelveDigitsFromTheRight()
    {
        Assert.True(DecimalLimbs.TryParse("1234567890123"u8, out var value));

        Assert.Equal(234567890123, value[0]);
        Assert.Equal(1, value[1]);
        Assert.Equal(2, value.Length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("12a")]
    [InlineData("-1")]
    [InlineData("1.5")]
    public void TryParse_NotDigits_False(string text) => Assert.False(DecimalLimbs.TryParse(Encoding.ASCII.GetBytes(text), out _));

    [Fact]
    public void TryParse_MoreDigitsThanTheLimbsHold_False() =>
        Assert.False(DecimalLimbs.TryParse(Encoding.ASCII.GetBytes(new string('9', (DecimalLimbs.Count * DecimalLimbs.DigitsPerLimb) + 1)), out _));

    [Fact]
    public void Add_LimbReachesTheBase_CarriesIntoTheNext()
    {
        DecimalLimbs.TryParse("999999999999"u8, out var sum);
        DecimalLimbs.TryParse("1"u8, out var one);

        sum.Add(one);

        Assert.Equal(0, sum[0]);
        Assert.Equal(1, sum[1]);
        Assert.Equal("1000000000000", sum.ToString());
    }

    [Fact]
    public void Add_CarryRipplesThroughEveryLimb_Exact()
    {
        var text = new string('9', DecimalLimbs.Count * DecimalLimbs.DigitsPerLimb);
        DecimalLimbs.TryParse(Encoding.ASCII.GetBytes(text), out var sum);
        DecimalLimbs.TryParse("1"u8, out var one);

        sum.Add(one);

        Assert.Equal(BigInteger.Parse(text, CultureInfo.InvariantCulture) + 1, sum.ToBigInteger());
    }

    [Fact]
    public void Add_Uint256MaxManyTimes_ExactSum()
    {
        DecimalLimbs.TryParse(Encoding.ASCII.GetBytes(Uint256Max.ToString(CultureInfo.InvariantCulture)), out var max);
        var sum = default(DecimalLimbs);

        for (var i = 0; i < 1000; i++)
        {
            sum.Add(max);
        }

        Assert.Equal(Uint256Max * 1000, sum.ToBigInteger());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1000000")]
    [InlineData("999999999999")]
    [InlineData("18446744073709551616")]
    [InlineData("115792089237316195423570985008687907853269984665640564039457584007913129639935")]
    public void From_BigInteger_SameLimbsAsTheText(string text)
    {
        DecimalLimbs.TryParse(Encoding.ASCII.GetBytes(text), out var parsed);

        var converted = DecimalLimbs.From(BigInteger.Parse(text, CultureInfo.InvariantCulture));

        Assert.Equal(parsed, converted);
        Assert.Equal(text, converted.ToString());
    }
}
