using System.Globalization;
using System.Numerics;
using System.Text;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Tests.Protocol;

public sealed class UInt256Tests
{
    [Theory]
    [InlineData("0")]
    [InlineData("10000")]
    [InlineData("0010")]
    [InlineData("18446744073709551615")]
    [InlineData("18446744073709551616")]
    [InlineData("340282366920938463463374607431768211456")]
    [InlineData("115792089237316195423570985008687907853269984665640564039457584007913129639935")]
    public void TryParseDecimal_InRange_MatchesBigInteger(string text)
    {
        Assert.True(UInt256.TryParseDecimal(Encoding.ASCII.GetBytes(text), out var value));
        Assert.Equal(BigInteger.Parse(text, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture), value.ToString());

        var bytes = new byte[32];
        value.WriteBigEndian(bytes);
        Assert.Equal(BigInteger.Parse(text, CultureInfo.InvariantCulture), new BigInteger(bytes, isUnsigned: true, isBigEndian: true));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("1e3")]
    [InlineData(" 1")]
    [InlineData("0x10")]
    [InlineData("115792089237316195423570985008687907853269984665640564039457584007913129639936")]
    [InlineData("999999999999999999999999999999999999999999999999999999999999999999999999999999")]
    public void TryParseDecimal_NotAUint256_False(string text) =>
        Assert.False(UInt256.TryParseDecimal(Encoding.ASCII.GetBytes(text), out _));

    [Fact]
    public void Compare_AcrossLimbs_Ordered()
    {
        UInt256.TryParseDecimal("18446744073709551616"u8, out var big);
        UInt256 small = ulong.MaxValue;

        Assert.True(big > small);
        Assert.True(small < big);
        Assert.Equal(ulong.MaxValue, big.SaturatedUInt64);
        Assert.Equal(ulong.MaxValue, small.SaturatedUInt64);
    }
}
