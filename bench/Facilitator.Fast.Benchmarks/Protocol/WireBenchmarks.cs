using System.Buffers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Benchmarks.Protocol;

/// <summary>
/// The wire: reading a verify/settle request into the payment view (the one pass every payment makes), the
/// answer-shape check of an upstream's answer, writing the official failure shape, and the /supported JSON types.
/// </summary>
[MemoryDiagnoser]
public class WireBenchmarks
{
    private static readonly byte[] Request = Encoding.UTF8.GetBytes(
        """{"x402Version":2,"paymentPayload":{"x402Version":2,"resource":{"url":"https://api.example.com/premium"},"accepted":{"scheme":"exact","network":"eip155:84532","amount":"10000","asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}},"payload":{"signature":"0x2d6a7588d6acca505cbf0d9a4a227e0c52c6c34008c8e8986a1283259764173608a2ce6496642e377d6da8dbbf5836e9bd15092f9ecab05ded3d6293af148b571c","authorization":{"from":"0x857b06519E91e3A54538791bDbb0E22373e36b66","to":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","value":"10000","validAfter":"1740672089","validBefore":"1740672154","nonce":"0xf3746613c2d920b5fdabc0856f2aeb2d4f88ee6037b8cc5d04a71a4462f13480"}}},"paymentRequirements":{"scheme":"exact","network":"eip155:84532","amount":"10000","asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}}}""");

    private static readonly byte[] VerifyAnswer = """{"isValid":true,"payer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}"""u8.ToArray();

    private static readonly byte[] Supported = """{"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"},{"x402Version":2,"scheme":"exact","network":"eip155:84532","extra":{"feePayer":"x"}}],"extensions":["bazaar"],"signers":{"eip155:*":["0x1111111111111111111111111111111111111111"]}}"""u8.ToArray();

    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private PaymentRequestView _view;
    private SupportedResponse _supported = null!;

    [GlobalSetup]
    public void Setup()
    {
        PaymentRequestReader.TryRead(Request, out _view);
        _supported = JsonSerializer.Deserialize(Supported, X402JsonContext.Default.SupportedResponse)!;
    }

    [Benchmark]
    [ZeroAllocation]
    public PaymentRequestError ReadPaymentView() => PaymentRequestReader.TryRead(Request, out _);

    [Benchmark]
    [ZeroAllocation]
    public bool CheckAnswerShape() => X402AnswerShape.IsAnswer(FacilitatorOperation.Verify, true, VerifyAnswer);

    [Benchmark]
    [ZeroAllocation]
    public int WriteSettleFailure()
    {
        _output.ResetWrittenCount();
        X402ResponseWriter.WriteFailure(
            _output, FacilitatorOperation.Settle, "invalid_exact_evm_signature", "The signature does not recover to authorization.from.",
            _view.Network, _view.Payer, Request);
        return _output.WrittenCount;
    }

    [Benchmark]
    public SupportedResponse? DeserializeSupported() => JsonSerializer.Deserialize(Supported, X402JsonContext.Default.SupportedResponse);

    [Benchmark]
    public byte[] SerializeSupported() => JsonSerializer.SerializeToUtf8Bytes(_supported, X402JsonContext.Default.SupportedResponse);

    [Benchmark]
    public byte[] SerializeStatusReport() => JsonSerializer.SerializeToUtf8Bytes(StatusReportSample, Facilitator.Fast.Api.ApiJsonContext.Default.StatusReport);

    [Benchmark]
    public object? DeserializeStatusAction() =>
        JsonSerializer.Deserialize(StatusActionBody, Facilitator.Fast.Api.ApiJsonContext.Default.StatusAction);

    [Benchmark]
    public object? RoundTripSettlementRecord() =>
        JsonSerializer.Deserialize(
            JsonSerializer.SerializeToUtf8Bytes(SettlementSample, Facilitator.Fast.State.StateJsonContext.Default.SettlementRecordWire),
            Facilitator.Fast.State.StateJsonContext.Default.SettlementRecordWire);

    private static readonly byte[] StatusActionBody = Encoding.UTF8.GetBytes("{\"action\":\"check-health\"}");

    private static readonly Facilitator.Fast.State.SettlementRecordWire SettlementSample = new(
        Facilitator.Fast.State.SettlementState.Finished, new string('a', 64), true, "x402-rs", null, 0, false, true, 200, "application/json", VerifyAnswer,
        1_795_000_000_000, new string('b', 64), null, null, "instance");

    private static readonly Facilitator.Fast.Api.StatusReport StatusReportSample = new(
        true,
        "2026-11-23T00:00:00.000Z",
        new Facilitator.Fast.Api.HealthSection(
            [new("x402-rs", "x402.rs", true, null, true, 0, 145, 2, "98.64%", 234.1, "2026-11-23T00:00:00.000Z", null, null, null, 0, 0)],
            new(1, 1, 0, 0)),
        null,
        null,
        null,
        null);
}
