using BenchmarkDotNet.Attributes;
using Facilitator.Fast.Edge;

namespace Facilitator.Fast.Benchmarks.Edge;

/// <summary>The local token-bucket decision of one request (the fallback and the no-Redis path).</summary>
[MemoryDiagnoser]
public class TokenBucketBenchmarks
{
    private readonly LocalTokenBuckets _buckets = new(TimeProvider.System, 100_000);
    private readonly RateLimitPolicy _policy = new("verify", 1_000_000_000, 1_000_000_000);

    [GlobalSetup]
    public void Setup() => _buckets.TryTake(_policy, "client");

    [Benchmark]
    [ZeroAllocation]
    public RateLimitDecision TakeToken() => _buckets.TryTake(_policy, "client");
}
