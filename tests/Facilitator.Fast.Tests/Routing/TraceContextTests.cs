using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>A caller's trace context and baggage reach a third-party upstream only where the operator says so.</summary>
public sealed class TraceContextTests
{
    private static readonly string[] TraceHeaders = ["traceparent", "tracestate", "baggage", "Correlation-Context", "Request-Id"];

    private static async Task<ReceivedRequest> VerifyWithTraceContextAsync(Dictionary<string, string?> settings, FakeFacilitator upstream)
    {
        await using var gateway = await GatewayHost.StartAsync(settings);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/verify")
        {
            Content = new StringContent(TestPayments.V2, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        request.Headers.TryAddWithoutValidation("tracestate", "vendor=caller-secret");
        request.Headers.TryAddWithoutValidation("baggage", "user.id=caller-secret");
        request.Headers.TryAddWithoutValidation("Correlation-Context", "user.id=caller-secret");
        (await gateway.Client.SendAsync(request)).Dispose();
        return upstream.Received.Single(static r => r.Path == "/verify");
    }

    [Fact]
    public async Task Verify_CallerSendsTraceContextAndBaggage_NoneOfItReachesTheUpstream()
    {
        await using var upstream = await FakeFacilitator.StartAsync();

        var received = await VerifyWithTraceContextAsync(GatewayHost.Upstreams(("only", upstream.Url)), upstream);

        Assert.All(TraceHeaders, header => Assert.False(received.Headers.ContainsKey(header), header));
        Assert.DoesNotContain("caller-secret", string.Join(' ', received.Headers.Values), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_UpstreamTrustedButTelemetryOff_StillNoTraceContext()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Upstreams:0:PropagateTraceContext"] = "true";

        var received = await VerifyWithTraceContextAsync(settings, upstream);

        Assert.All(TraceHeaders, header => Assert.False(received.Headers.ContainsKey(header), header));
    }

    [Fact]
    public async Task Verify_UpstreamTrustedAndTelemetryOn_TraceContextContinuesTheCallersTrace()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Upstreams:0:PropagateTraceContext"] = "true";
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{LoopbackPorts.Free()}";

        var received = await VerifyWithTraceContextAsync(settings, upstream);

        Assert.Contains("0af7651916cd43dd8448eb211c80319c", received.Headers["traceparent"], StringComparison.Ordinal);
    }
}
