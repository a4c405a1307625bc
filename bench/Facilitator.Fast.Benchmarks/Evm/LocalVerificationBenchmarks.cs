using BenchmarkDotNet.Attributes;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Benchmarks.Evm;

/// <summary>
/// The cost of judging a payment locally, against the cost of the libsecp256k1 recovery it rests on
/// (<see cref="BareRecover"/>, the baseline): digest, recovery to an address, the full check of a parsed payment,
/// and parse plus check from the raw request bytes.
/// </summary>
[MemoryDiagnoser]
public class LocalVerificationBenchmarks
{
    private readonly PaymentFixture _payment = new();
    private readonly byte[] _digest = new byte[32];
    private readonly byte[] _publicKey = new byte[64];
    private readonly byte[] _address = new byte[20];
    private PaymentRequestView _view;

    [GlobalSetup]
    public void Setup()
    {
        _view = _payment.View;
        if (_payment.Verifier.Verify(_payment.Body, _view).Kind != LocalVerdictKind.Valid)
        {
            throw new InvalidOperationException("The fixture payment must be valid.");
        }
    }

    [Benchmark(Baseline = true)]
    [ZeroAllocation]
    public bool BareRecover() => Secp256k1.RecoverPublicKey(_payment.Digest, _payment.Signature, _publicKey);

    [Benchmark]
    [ZeroAllocation]
    public bool Eip712Digest() => ExactEvmVerifier.TryComputeDigest(_payment.Body, _view, _digest);

    [Benchmark]
    [ZeroAllocation]
    public SignatureCheck RecoverAddress() => Secp256k1.TryRecoverAddress(_payment.Digest, _payment.Signature, _address);

    [Benchmark]
    [ZeroAllocation]
    public LocalVerdict FullCheck() => _payment.Verifier.Verify(_payment.Body, _view);

    [Benchmark]
    [ZeroAllocation]
    public LocalVerdict ParseAndCheck()
    {
        PaymentRequestReader.TryRead(_payment.Body, out var view);
        return _payment.Verifier.Verify(_payment.Body, view);
    }
}
