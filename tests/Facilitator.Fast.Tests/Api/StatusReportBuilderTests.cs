using Facilitator.Fast.Api;

namespace Facilitator.Fast.Tests.Api;

public sealed class StatusReportBuilderTests
{
    [Theory]
    [InlineData(145, 2, "98.64%")]
    [InlineData(5, 0, "100%")]
    [InlineData(0, 0, "0%")]
    [InlineData(1, 2, "33.33%")]
    [InlineData(1, 1, "50%")]
    public void Rate_Counts_FormattedAsTheSeedShowsIt(long successes, long failures, string expected) =>
        Assert.Equal(expected, StatusReportBuilder.Rate(successes, failures));
}
