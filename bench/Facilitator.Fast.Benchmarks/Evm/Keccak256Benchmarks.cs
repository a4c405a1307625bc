using BenchmarkDotNet.Attributes;
using Facilitator.Fast.Evm;

namespace Facilitator.Fast.Benchmarks.Evm;

/// <summary>Keccak-256 at one short input, exactly one rate block, and 1 KiB.</summary>
[MemoryDiagnoser]
public class Keccak256Benchmarks
{
    private readonly byte[] _output = new byte[32];
    private byte[] _input = [];

    [Params(32, 136, 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _input = new byte[Size];
        new Random(42).NextBytes(_input);
    }

    [Benchmark]
    [ZeroAllocation]
    public void Hash() => Keccak256.Hash(_input, _output);
}
