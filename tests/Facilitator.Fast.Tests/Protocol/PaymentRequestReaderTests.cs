using System.Text;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Protocol;

public sealed class PaymentRequestReaderTests
{
    [Fact]
    public void TryRead_V1Request_VersionSchemeNetworkPayer()
    {
        var body = Encoding.UTF8.GetBytes(SignedPayments.V1);

        var error = PaymentRequestReader.TryRead(body, out var view);

        Assert.Equal(PaymentRequestError.None, error);
        Assert.Equal(1, view.Version);
        Assert.Equal("exact", view.Scheme.ToString(body));
        Assert.Equal("base-sepolia", view.Network.ToString(body));
        Assert.Equal(SignedPayments.Payer, view.Payer.ToString(body));
    }

    [Fact]
    public void TryRead_V2Request_NetworkFromRequirements()
    {
        var body = Encoding.UTF8.GetBytes(SignedPayments.V2);

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

    [Theory]
    [InlineData("1.0", 1)]
    [InlineData("2.0", 2)]
    [InlineData("1e0", 1)]
    [InlineData("1E0", 1)]
    [InlineData("0.2e1", 2)]
    [InlineData("20e-1", 2)]
    [InlineData("1.000", 1)]
    public void TryRead_VersionWrittenAsAnotherFormOfTheNumber_ThatVersion(string written, int expected)
    {
        // JSON numbers, as JSON.parse (the official facilitators') reads them; the payload's version is compared as one too.
        var body = Encoding.UTF8.GetBytes($$$"""{"x402Version":{{{written}}},"paymentPayload":{"x402Version":{{{expected}}}},"paymentRequirements":{}}""");
        var payloadWritten = Encoding.UTF8.GetBytes($$$"""{"x402Version":{{{expected}}},"paymentPayload":{"x402Version":{{{written}}}},"paymentRequirements":{}}""");

        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(body, out var view));
        Assert.Equal(expected, view.Version);
        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(payloadWritten, out _));
    }

    [Theory]
    [InlineData("1e400", PaymentRequestError.UnsupportedVersion)]
    [InlineData("-1e0", PaymentRequestError.UnsupportedVersion)]
    [InlineData("1.0000001", PaymentRequestError.UnsupportedVersion)]
    [InlineData("\"1\"", PaymentRequestError.UnsupportedVersion)]
    [InlineData("3.0", PaymentRequestError.UnsupportedVersion)]
    public void TryRead_VersionNotOneOrTwo_Unsupported(string written, PaymentRequestError expected) =>
        Assert.Equal(expected, PaymentRequestReader.TryRead(Encoding.UTF8.GetBytes($$$"""{"x402Version":{{{written}}},"paymentPayload":{},"paymentRequirements":{}}"""), out _));

    [Fact]
    public void TryRead_PayloadVersionAnotherNumber_Mismatch() =>
        Assert.Equal(
            PaymentRequestError.PayloadVersionMismatch,
            PaymentRequestReader.TryRead("""{"x402Version":1.0,"paymentPayload":{"x402Version":2.0},"paymentRequirements":{}}"""u8, out _));

    [Fact]
    public void TryRead_ByteOrderMarkBeforeTheJson_SkippedAndSlicesStayOffsetsIntoTheBody()
    {
        var json = Encoding.UTF8.GetBytes(SignedPayments.V2);
        byte[] body = [0xEF, 0xBB, 0xBF, .. json];
        PaymentRequestReader.TryRead(json, out var plain);

        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(body, out var view));
        Assert.Equal(2, view.Version);
        Assert.Equal("eip155:84532", view.Network.ToString(body));
        Assert.Equal(plain.Payer.ToString(json), view.Payer.ToString(body));
        Assert.Equal(plain.PaymentPayloadRange.Start + 3, view.PaymentPayloadRange.Start);
        Assert.Equal(plain.PaymentPayloadRange.Length, view.PaymentPayloadRange.Length);
        Assert.Equal(plain.RequirementsRange.Start + 3, view.RequirementsRange.Start);
        Assert.True(body.AsSpan(view.RequirementsRange.Start, view.RequirementsRange.Length).SequenceEqual(
            json.AsSpan(plain.RequirementsRange.Start, plain.RequirementsRange.Length)));
    }

    [Theory]
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF })]
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}' })]
    [InlineData(new byte[] { (byte)' ', 0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}' })]
    [InlineData(new byte[] { 0xFE, 0xFF, (byte)'{', (byte)'}' })]
    public void TryRead_ByteOrderMarkAloneTwiceLateOrUtf16_MalformedJson(byte[] body) =>
        Assert.Equal(PaymentRequestError.MalformedJson, PaymentRequestReader.TryRead(body, out _));

    [Fact]
    public void TryRead_NestedBeyond64InFieldsNotRead_Accepted()
    {
        var deep = new string('[', 100) + new string(']', 100);
        var body = Encoding.UTF8.GetBytes(SignedPayments.V2
            .Replace("\"paymentPayload\":{", "\"paymentPayload\":{\"note\":" + deep + ",", StringComparison.Ordinal)
            .Replace("\"paymentRequirements\":{", "\"paymentRequirements\":{\"extra2\":" + deep + ",", StringComparison.Ordinal)
            .Replace("{\"x402Version\"", "{\"memo\":" + deep + ",\"x402Version\"", StringComparison.Ordinal));

        Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(body, out var view));
        Assert.Equal("eip155:84532", view.Network.ToString(body));
    }

    [Theory]
    [InlineData(PaymentRequestReader.MaxDepth, PaymentRequestError.None)]
    [InlineData(PaymentRequestReader.MaxDepth + 1, PaymentRequestError.MalformedJson)]
    public void TryRead_NestingAtTheBound_AcceptedAndOneDeeperRefused(int depth, PaymentRequestError expected)
    {
        // The body's object is the first level; 127 is the deepest serde_json (x402-rs) reads.
        var body = Encoding.UTF8.GetBytes("{\"x402Version\":1,\"paymentPayload\":{},\"paymentRequirements\":{},\"x\":"
            + new string('[', depth - 1) + new string(']', depth - 1) + "}");

        Assert.Equal(127, PaymentRequestReader.MaxDepth);
        Assert.Equal(expected, PaymentRequestReader.TryRead(body, out _));
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
