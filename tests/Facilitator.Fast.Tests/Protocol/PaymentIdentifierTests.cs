using System.Text;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Tests.Protocol;

/// <summary>Reading <c>paymentPayload.extensions["payment-identifier"].info</c>.</summary>
public sealed class PaymentIdentifierTests
{
    private static PaymentIdentifierError Read(string payload, out string? id) => PaymentIdentifier.TryRead(Encoding.UTF8.GetBytes(payload), out id);

    [Theory]
    [InlineData("""{"x402Version":2}""")]
    [InlineData("""{"extensions":{"bazaar":{}}}""")]
    [InlineData("""{"extensions":{"payment-identifier":{"info":{"required":false}}}}""")]
    [InlineData("""{"extensions":{"payment-identifier":"not an object"}}""")]
    public void TryRead_NoId_NoneAndNull(string payload)
    {
        Assert.Equal(PaymentIdentifierError.None, Read(payload, out var id));
        Assert.Null(id);
    }

    [Fact]
    public void TryRead_IdAmongOtherFields_Read()
    {
        var error = Read("""{"payload":{"a":[1,{"b":2}]},"extensions":{"x":{"info":{"id":"nope"}},"payment-identifier":{"schema":{"id":"no"},"info":{"required":true,"id":"pay_0123456789abcdef"}}}}""", out var id);

        Assert.Equal(PaymentIdentifierError.None, error);
        Assert.Equal("pay_0123456789abcdef", id);
    }

    [Theory]
    [InlineData("""{"extensions":{"payment-identifier":{"info":{"id":"pay_0123456789abcdef","id":"pay_fedcba9876543210"}}}}""")]
    [InlineData("""{"extensions":{"payment-identifier":{"info":{"id":42}}}}""")]
    [InlineData("""{"extensions":{"payment-identifier":{"info":{"id":"pay_0123456789abcde\u0000"}}}}""")]
    public void TryRead_RepeatedOrNotAStringOrBadCharacter_Malformed(string payload) =>
        Assert.Equal(PaymentIdentifierError.Malformed, Read(payload, out _));

    [Fact]
    public void TryRead_NestedBeyond64BeforeTheExtension_StillRead()
    {
        // As deep as the request reader accepts: a body it took never has its identifier skipped unread.
        var deep = new string('[', 100) + new string(']', 100);
        var error = Read("{\"memo\":" + deep + ",\"extensions\":{\"payment-identifier\":{\"info\":{\"id\":\"pay_0123456789abcdef\"}}}}", out var id);

        Assert.Equal(PaymentIdentifierError.None, error);
        Assert.Equal("pay_0123456789abcdef", id);
    }

    /// <summary>The name written with JSON escapes is the same name: the search that skips payments without it must not miss it.</summary>
    [Theory]
    [InlineData("""{"extensions":{"\u0070ayment-identifier":{"info":{"id":"pay_0123456789abcdef"}}}}""")]
    [InlineData("""{"extensions":{"payment\u002didentifier":{"info":{"id":"pay_0123456789abcdef"}}}}""")]
    public void TryRead_ExtensionNameWithEscapes_StillRead(string payload)
    {
        Assert.Equal(PaymentIdentifierError.None, Read(payload, out var id));
        Assert.Equal("pay_0123456789abcdef", id);
    }

    [Fact]
    public void TryRead_RequiredWithoutId_Missing() =>
        Assert.Equal(PaymentIdentifierError.Missing, Read("""{"extensions":{"payment-identifier":{"info":{"required":true}}}}""", out _));

    [Theory]
    [InlineData(15, false)]
    [InlineData(16, true)]
    [InlineData(128, true)]
    [InlineData(129, false)]
    public void IsValid_Length_16To128(int length, bool valid) => Assert.Equal(valid, PaymentIdentifier.IsValid(new string('a', length)));
}
