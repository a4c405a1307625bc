using BenchmarkDotNet.Attributes;
using Facilitator.Fast.Analytics;
using Facilitator.Fast.Benchmarks.Evm;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Benchmarks.Analytics;

/// <summary>
/// What the analytics add to each settle: reading the sample from the request (one parse, the CAIP-2 id, the amount in
/// limbs, the fee), and counting it in the in-memory store (hour, day, month and totals). The settle path pays only the
/// first (the store is written off the path, by the writer); the whole is measured as the per-settle counter update.
/// </summary>
[MemoryDiagnoser]
public class SettlementAnalyticsBenchmarks
{
    private readonly PaymentFixture _payment = new();
    private readonly FeeSchedule _fees = new(10, 1000, 100_000_000);
    private readonly InMemoryAnalyticsStore _store = new();
    private long _at = new DateTimeOffset(2026, 3, 14, 15, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>The request parse alone (which the settle path already paid once), for scale.</summary>
    [Benchmark(Baseline = true)]
    public bool ParseRequest() => PaymentRequestReader.TryRead(_payment.Body, out _) == PaymentRequestError.None;

    [Benchmark]
    public bool ReadSample() => SettlementSampleReader.TryRead(_payment.Body, _fees, 120, _at, out _);

    [Benchmark]
    public bool ReadSampleAndCount()
    {
        // One payment a second of simulated time: buckets roll over and are pruned as in a long run.
        SettlementSampleReader.TryRead(_payment.Body, _fees, 120, _at += 1000, out var sample);
        return _store.Add(sample);
    }
}
