using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Org.BouncyCastle.Crypto.Parameters;

namespace Facilitator.Fast.Benchmarks.Routing;

/// <summary>
/// What signing a CDP request costs: a fresh JWT per request (JSON, nonce, base64url, signature, the header string)
/// for each key type CDP issues, and the whole <c>Apply</c> to a request. Against an upstream call of milliseconds.
/// </summary>
[MemoryDiagnoser]
public class CdpRequestSignerBenchmarks
{
    private static readonly Uri Verify = new("https://api.cdp.coinbase.com/platform/v2/x402/verify");

    private readonly byte[] _signingInput = new byte[330];
    private readonly byte[] _signature = new byte[CdpApiKey.SignatureLength];
    private CdpApiKey _es256Key = null!;
    private CdpApiKey _edDsaKey = null!;
    private CdpRequestSigner _es256 = null!;
    private CdpRequestSigner _edDsa = null!;

    [GlobalSetup]
    public void Setup()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var es256 = CdpApiKey.Parse($"organizations/{Guid.NewGuid()}/apiKeys/{Guid.NewGuid()}", ecdsa.ExportECPrivateKeyPem(), "id", "secret");

        var seed = RandomNumberGenerator.GetBytes(32);
        var publicKey = new Ed25519PrivateKeyParameters(seed).GeneratePublicKey().GetEncoded();
        var edDsa = CdpApiKey.Parse(Guid.NewGuid().ToString(), Convert.ToBase64String([.. seed, .. publicKey]), "id", "secret");

        _es256Key = es256;
        _edDsaKey = edDsa;
        _es256 = new CdpRequestSigner(es256, TimeProvider.System);
        _edDsa = new CdpRequestSigner(edDsa, TimeProvider.System);
    }

    /// <summary>The signature alone over a token-sized input: what the token costs beyond it is the JWT's assembly.</summary>
    [Benchmark]
    public byte[] SignatureOnlyEs256()
    {
        _es256Key.Sign(_signingInput, _signature);
        return _signature;
    }

    [Benchmark]
    public byte[] SignatureOnlyEdDsa()
    {
        _edDsaKey.Sign(_signingInput, _signature);
        return _signature;
    }

    [Benchmark(Baseline = true)]
    public string TokenEs256() => _es256.Authorization(HttpMethod.Post, Verify);

    [Benchmark]
    public string TokenEdDsa() => _edDsa.Authorization(HttpMethod.Post, Verify);

    /// <summary>What a request pays: the token plus adding it (and the correlation header) to the request.</summary>
    [Benchmark]
    public bool ApplyEdDsa()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Verify);
        return _edDsa.Apply(request, FacilitatorOperation.Verify);
    }
}
