using Facilitator.Fast.Payments;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>The payment state machine: who may follow whom.</summary>
public sealed class PaymentTransitionsTests
{
    [Theory]
    [InlineData(PaymentStatus.Verified, PaymentStatus.Settling, true)]
    [InlineData(PaymentStatus.Settling, PaymentStatus.Settled, true)]
    [InlineData(PaymentStatus.Settling, PaymentStatus.Failed, true)]
    [InlineData(PaymentStatus.Verified, PaymentStatus.Expired, true)]
    [InlineData(PaymentStatus.Expired, PaymentStatus.Settled, true)]
    [InlineData(PaymentStatus.Settled, PaymentStatus.Settling, false)]
    [InlineData(PaymentStatus.Settled, PaymentStatus.Failed, false)]
    [InlineData(PaymentStatus.Failed, PaymentStatus.Settled, true)]
    [InlineData(PaymentStatus.Failed, PaymentStatus.Failed, false)]
    [InlineData(PaymentStatus.Failed, PaymentStatus.Settling, true)]
    [InlineData(PaymentStatus.Expired, PaymentStatus.Settling, false)]
    [InlineData(PaymentStatus.Settling, PaymentStatus.Expired, false)]
    [InlineData(PaymentStatus.Settled, PaymentStatus.Expired, false)]
    public void AllowedBefore_SentTransitions(PaymentStatus from, PaymentStatus to, bool allowed) =>
        Assert.Equal(allowed, PaymentTransitions.AllowedBefore(to, sent: true).Contains(from));

    [Fact]
    public void AllowedBefore_BackToVerified_OnlyFromSettlingAndOnlyWhenNothingWasSent()
    {
        Assert.True(PaymentTransitions.AllowedBefore(PaymentStatus.Verified, sent: false).Contains(PaymentStatus.Settling));
        Assert.False(PaymentTransitions.AllowedBefore(PaymentStatus.Verified, sent: false).Contains(PaymentStatus.Settled));
        Assert.False(PaymentTransitions.AllowedBefore(PaymentStatus.Verified, sent: true).Contains(PaymentStatus.Settling));
        Assert.False(PaymentTransitions.AllowedBefore(PaymentStatus.Settling, sent: false).Contains(PaymentStatus.Failed));
    }

    [Fact]
    public void ToDelimitedNames_CommaFramedForScriptLookup() =>
        Assert.Equal(",verified,settling,expired,", PaymentTransitions.AllowedBefore(PaymentStatus.Failed, sent: true).ToDelimitedNames());
}
