using System.Collections.Concurrent;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Facilitator.Fast.Tests.Telemetry;

/// <summary>
/// With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set, spans and metrics reach an OTLP/HTTP receiver (a real server on
/// loopback) with the attributes the service promises; attribute names and values travel as UTF-8 in the protobuf.
/// </summary>
public sealed class OpenTelemetryExportTests
{
    [Fact]
    public async Task Export_EndpointConfigured_UpstreamSpansAndMetricsArrive()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("primary-upstream", upstream.Url));
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Url;
        settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        settings["OTEL_SERVICE_NAME"] = "facilitator-under-test";
        settings["OTEL_METRIC_EXPORT_INTERVAL"] = "300";
        settings["OTEL_BSP_SCHEDULE_DELAY"] = "100";
        await using (var gateway = await GatewayHost.StartAsync(settings))
        {
            for (var i = 0; i < 3; i++)
            {
                (await gateway.PostAsync("/verify", SignedPayments.V1)).Dispose();
            }

            await Eventually.TrueAsync(() => receiver.Contains("/v1/traces", "facilitator.upstream.id"), "upstream spans are exported");
            await Eventually.TrueAsync(() => receiver.Contains("/v1/metrics", "facilitator.upstream.attempts"), "metrics are exported");
        }

        foreach (var expected in new[] { "facilitator-under-test", "primary-upstream", "facilitator.attempt", "facilitator.hedged", "facilitator.outcome", "answered" })
        {
            Assert.True(receiver.Contains("/v1/traces", expected), $"traces carry {expected}");
        }

        Assert.True(receiver.Contains("/v1/metrics", "facilitator.upstream.duration"));
        Assert.True(receiver.Contains("/v1/metrics", "http.server.request.duration"));
    }

    [Fact]
    public async Task Export_CdpRefusesTheEchoedToken_SpansSayCredentialsRefusedAndCarryNoSecret()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var key = CdpTestKey.Sec1(escapedNewlines: true);
        await using var cdp = await FakeCdpFacilitator.StartAsync(CdpTestKey.Ed25519());
        cdp.EchoTokenInRefusals = true;
        var settings = GatewayHost.Upstreams(("cdp", cdp.Url));
        settings["Upstreams:0:Kind"] = "coinbase-cdp";
        settings["CDP_API_KEY_ID"] = key.KeyId;
        settings["CDP_API_KEY_SECRET"] = key.Secret;
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Url;
        settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        settings["OTEL_BSP_SCHEDULE_DELAY"] = "100";
        await using (var gateway = await GatewayHost.StartAsync(settings))
        {
            (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();
            await Eventually.TrueAsync(() => receiver.Contains("/v1/traces", "credentials refused"), "the refused attempt's span is exported");
        }

        var token = cdp.Received.Single().Headers["Authorization"]["Bearer ".Length..];
        foreach (var secret in key.SecretFragments().Append(key.KeyId).Append(token).Append(token.Split('.')[2]).Append("eyJ"))
        {
            Assert.False(receiver.Contains("/v1/traces", secret), $"traces carry {secret[..Math.Min(12, secret.Length)]}…");
        }
    }

    [Fact]
    public async Task Export_NoEndpoint_NothingRegistered()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        Assert.Null(gateway.Services.GetService(typeof(OpenTelemetry.Trace.TracerProvider)));
    }

    /// <summary>An OTLP/HTTP receiver: keeps the raw protobuf bodies posted to each path.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentDictionary<string, ConcurrentQueue<byte[]>> _bodies = new();

        private OtlpReceiver(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public static async Task<OtlpReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.Run(async context =>
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer);
                receiver._bodies.GetOrAdd(context.Request.Path.Value ?? "", static _ => new()).Enqueue(buffer.ToArray());
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
            });
            await app.StartAsync();
            receiver.Url = app.Urls.First();
            return receiver;
        }

        public bool Contains(string path, string text)
        {
            var needle = Encoding.UTF8.GetBytes(text);
            return _bodies.TryGetValue(path, out var bodies) && bodies.Any(b => b.AsSpan().IndexOf(needle) >= 0);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
