using System.Text;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Protocol;

public sealed class PaymentRequestReaderTests
{
    [Fact]
    public void TryRead_V1Request_VersionSchemeNetworkPayer()
    {
        var body = Encoding.UTF8.GetBytes(TestPayments.V1);

        var error = PaymentRequestReader.TryRead(body, out var view);

        Assert.Equal(PaymentRequestError.None, error);
        Assert.Equal(1, view.Version);
        Assert.Equal("exact", view.Scheme.ToString(body));
        Assert.Equal("base-sepolia", view.Network.ToString(body));
        Assert.Equal(TestPayments.Payer, view.Payer.ToString(body));
    }

    [Fact]
    public void TryRead_V2Request_NetworkFromRequirements()
    {
        var body = Encoding.UTF8.GetBytes(TestPayments.V2);

        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(body, out var view));
        Assert.Equal(2, view.Version);
        Assert.Equal("eip155:84532", view.Network.ToString(body));
    }

    [Fact]
    public void TryRead_EscapedString_Unescaped()
    {
        var body = Encoding.UTF8.GetBytes("""{"x402Version":1,"paymentPayload":{},"paymentRequirements":{"network":"base\u002dsepolia"}}""");

        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(body, out var view));
        Assert.True(view.Network.IsEscaped);
        Assert.Equal("base-sepolia", view.Network.ToString(body));
    }

    [Theory]
    [InlineData("", PaymentRequestError.MalformedJson)]
    [InlineData("{", PaymentRequestError.MalformedJson)]
    [InlineData("\"text\"", PaymentRequestError.NotAnObject)]
    [InlineData("{}", PaymentRequestError.MissingVersion)]
    [InlineData("""{"x402Version":1.5,"paymentPayload":{},"paymentRequirements":{}}""", PaymentRequestError.UnsupportedVersion)]
    [InlineData("""{"x402Version":99999999999999999999,"paymentPayload":{},"paymentRequirements":{}}""", PaymentRequestError.UnsupportedVersion)]
    [InlineData("""{"x402Version":0,"paymentPayload":{},"paymentRequirements":{}}""", PaymentRequestError.UnsupportedVersion)]
    [InlineData("""{"x402Version":2,"paymentPayload":"x","paymentRequirements":{}}""", PaymentRequestError.MissingPaymentPayload)]
    [InlineData("""{"x402Version":2,"paymentPayload":{},"paymentRequirements":null}""", PaymentRequestError.MissingPaymentRequirements)]
    [InlineData("""{"x402Version":2,"x402Version":2,"paymentPayload":{},"paymentRequirements":{}}""", PaymentRequestError.DuplicateField)]
    [InlineData("""{"x402Version":2,"paymentPayload":{},"paymentRequirements":{"network":"a","network":"b"}}""", PaymentRequestError.DuplicateField)]
    [InlineData("""{"x402Version":2,"paymentPayload":{"payload":{"authorization":{"from":"0x1","from":"0x2"}}},"paymentRequirements":{}}""", PaymentRequestError.DuplicateField)]
    [InlineData("""{"x402Version":2,"paymentPayload":{},"paymentRequirements":{}}{}""", PaymentRequestError.MalformedJson)]
    public void TryRead_NotAFacilitatorRequest_Error(string text, PaymentRequestError expected)
    {
        Assert.Equal(expected, PaymentRequestReader.TryRead(Encoding.UTF8.GetBytes(text), out _));
    }

    [Fact]
    public void TryRead_InvalidUtf8_MalformedJson()
    {
        var body = Encoding.UTF8.GetBytes("""{"x402Version":1,"paymentPayload":{"x":"??"},"paymentRequirements":{}}""");
        body[Array.IndexOf(body, (byte)'?')] = 0xC3;

        Assert.Equal(PaymentRequestError.MalformedJson, PaymentRequestReader.TryRead(body, out _));
    }

    [Fact]
    public void TryRead_DeeplyNested_MalformedJsonNotStackOverflow()
    {
        var body = Encoding.UTF8.GetBytes("{\"x402Version\":1,\"x\":" + new string('[', 100_000) + new string(']', 100_000) + "}");

        Assert.Equal(PaymentRequestError.MalformedJson, PaymentRequestReader.TryRead(body, out _));
    }

    [Fact]
    public void TryRead_HugeNumber_TreatedAsToken()
    {
        var body = Encoding.UTF8.GetBytes("{\"x402Version\":1,\"n\":" + new string('9', 10_000) + ",\"paymentPayload\":{},\"paymentRequirements\":{}}");

        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(body, out _));
    }
}
