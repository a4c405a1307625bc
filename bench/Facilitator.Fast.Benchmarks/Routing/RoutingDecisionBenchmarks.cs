using System.Text;
using BenchmarkDotNet.Attributes;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Facilitator.Fast.State;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Facilitator.Fast.Benchmarks.Routing;

/// <summary>
/// The routing decision of one call: read the current snapshot (one volatile read) and order its upstreams by
/// capability and health. No lock, no allocation: the candidate array is pooled by the router and reused here.
/// </summary>
[MemoryDiagnoser]
public class RoutingDecisionBenchmarks
{
    private readonly FailoverRouter.Candidate[] _candidates = new FailoverRouter.Candidate[8];
    private RoutingTable _table = null!;
    private byte[] _body = [];
    private PaymentKind _kind;

    [Params(false, true)]
    public bool CapabilitiesKnown { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < 4; i++)
        {
            settings[$"Upstreams:{i}:Id"] = $"upstream-{i}";
            settings[$"Upstreams:{i}:Url"] = $"http://127.0.0.1:{7000 + i}";
        }

        var configuration = RoutingConfiguration.Load(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        _table = new RoutingTable(configuration, new InMemoryUpstreamHealthStore(configuration.Upstreams.Select(u => u.Id)), NullLogger<RoutingTable>.Instance);
        if (CapabilitiesKnown)
        {
            var supported = new SupportedResponse { Kinds = [new SupportedKind { X402Version = 2, Scheme = "exact", Network = "eip155:84532" }] };
            foreach (var upstream in _table.All.Skip(1))
            {
                upstream.Capabilities = supported;
            }
        }

        _body = Encoding.UTF8.GetBytes("""{"x402Version":2,"paymentPayload":{},"paymentRequirements":{"scheme":"exact","network":"eip155:84532"}}""");
        PaymentRequestReader.TryRead(_body, out var view);
        _kind = PaymentKind.Of(view);
    }

    [GlobalCleanup]
    public void Cleanup() => _table.Dispose();

    [Benchmark]
    [ZeroAllocation]
    public int SnapshotAndOrder() =>
        FailoverRouter.Order(_table.Current, FacilitatorOperation.Verify, _kind, _body, null, _candidates, out _);
}
