using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Facilitator.Fast.Benchmarks.Evm;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Facilitator.Fast.Benchmarks.Settlement;

/// <summary>
/// What the settlement ledger adds to a settle: the identity (two SHA-256 over decoded fields, no allocation), and a
/// whole claim-to-finish on the in-memory store (read, claim, record the answer), which a settle pays
/// once against an upstream call of milliseconds to seconds.
/// </summary>
[MemoryDiagnoser]
public class SettlementLedgerBenchmarks
{
    private static readonly byte[] Answer = """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}"""u8.ToArray();

    private readonly PaymentFixture _payment = new();
    private AuthorizationFacts _facts;
    private SettlementLedger _ledger = null!;
    private long _counter;

    [GlobalSetup]
    public void Setup()
    {
        _payment.Verifier.Verify(_payment.Body, _payment.View, out _facts);
        if (!_facts.SignatureVerified)
        {
            throw new InvalidOperationException("The fixture payment must verify.");
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Upstreams:0:Id"] = "only",
            ["Upstreams:0:Url"] = "http://127.0.0.1:7000",
        }).Build();
        var policy = SettlementPolicy.Load(configuration, RoutingConfiguration.Load(configuration));
        var store = new InMemorySettlementStore(TimeProvider.System, new SettlementWaiters(), policy.MaxMemoryBytes);
        _ledger = new SettlementLedger(
            store, null, policy, new SettlementOutcomeRetries(TimeProvider.System, NullLogger<SettlementOutcomeRetries>.Instance),
            TimeProvider.System, NullLogger<SettlementLedger>.Instance);
    }

    [Benchmark]
    [ZeroAllocation]
    public bool Identity() => SettlementIdentity.TryCreate(_payment.Body, _payment.View, _facts, out _);

    [Benchmark]
    public async Task<bool> ClaimAndFinish()
    {
        Span<byte> seed = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(seed, ++_counter);
        var identity = new SettlementIdentity
        {
            Key = Sha256Hash.Of(seed),
            Fingerprint = Sha256Hash.Of(seed),
            Verified = true,
            ValidBeforeSeconds = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 600,
        };
        var claim = (await _ledger.ClaimAsync(identity)).Claim!;
        await claim.FinishAsync("only", true, 200, "application/json", Answer);
        return claim.Lost;
    }
}
