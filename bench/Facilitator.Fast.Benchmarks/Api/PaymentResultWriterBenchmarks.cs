using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Facilitator.Fast.Api;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Benchmarks.Api;

/// <summary>A payment written as the API's <c>PaymentResult</c> JSON (the body of every <c>/v1/status</c> answer).</summary>
[MemoryDiagnoser]
public class PaymentResultWriterBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new(2048);
    private PaymentRecord _settled = null!;

    [GlobalSetup]
    public void Setup() =>
        _settled = new PaymentRecord(
            Guid.NewGuid(), PaymentStatus.Settled, Sha256Hash.Of("fingerprint"u8), "0x857b06519E91e3A54538791bDbb0E22373e36b66",
            "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "1.5", "1500000", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", 6,
            "eip155:84532", "0.0015", "x402-rs", "x402-rs", "0x9a3b0c5d7e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b",
            1_764_590_000_000, 1_764_590_004_000, null, 1_764_593_600, null);

    [Benchmark]
    public int WritePaymentResult()
    {
        _buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_buffer))
        {
            PaymentResultWriter.Write(writer, _settled);
        }

        return _buffer.WrittenCount;
    }
}
