using BenchmarkDotNet.Attributes;
using Facilitator.Fast.State;
using StackExchange.Redis;

namespace Facilitator.Fast.Benchmarks.State;

/// <summary>
/// A payment record to and from the fields of its Redis hash — what every <c>/v1</c> write and read pays besides the
/// round trip — with the request it keeps until it is settled (a typical 1.3 KB x402 body) and without it (final).
/// </summary>
[MemoryDiagnoser]
public class PaymentRecordBenchmarks
{
    private PaymentRecord _open = null!;
    private PaymentRecord _settled = null!;
    private RedisResult[] _openFlat = null!;
    private RedisResult[] _settledFlat = null!;

    [GlobalSetup]
    public void Setup()
    {
        _open = new PaymentRecord(
            Guid.NewGuid(), PaymentStatus.Verified, Sha256Hash.Of("fingerprint"u8), "0x857b06519E91e3A54538791bDbb0E22373e36b66",
            "0x209693Bc6afc0C5328bA36FaF03C514EF312287C", "1.5", "1500000", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", 6,
            "eip155:84532", "0.0015", "x402-rs", null, null, 1_764_590_000_000, null, null, 1_764_593_600, new byte[1300]);
        _settled = _open with
        {
            Status = PaymentStatus.Settled, SettledBy = "x402-rs", SettledAtMs = 1_764_590_004_000, Request = null,
            Transaction = "0x9a3b0c5d7e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b",
        };
        _openFlat = [.. PaymentRecordFields.ToPairs(_open).Select(static v => RedisResult.Create(v))];
        _settledFlat = [.. PaymentRecordFields.ToPairs(_settled).Select(static v => RedisResult.Create(v))];
    }

    [Benchmark]
    public int ToFieldsOpen() => PaymentRecordFields.ToPairs(_open).Count;

    [Benchmark]
    public int ToFieldsSettled() => PaymentRecordFields.ToPairs(_settled).Count;

    [Benchmark]
    public PaymentRecord? FromFieldsOpen() => PaymentRecordFields.FromFlat(_open.Id, _openFlat);

    [Benchmark]
    public PaymentRecord? FromFieldsSettled() => PaymentRecordFields.FromFlat(_settled.Id, _settledFlat);
}
