using System.Globalization;
using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;

namespace Facilitator.Fast.Load;

/// <summary>
/// The tail a slow primary gives callers, with and without hedging: the primary answers 5 % of verify calls after
/// 500 ms and the rest after 2 ms, the secondary always after 2 ms. The service runs in this process on loopback.
/// Reported: p50/p99/p99.9 and the extra-request ratio (upstream requests per caller request, minus one).
/// </summary>
internal static class HedgingTailScenario
{
    private const string Payment = """{"x402Version":2,"paymentPayload":{"x402Version":2,"accepted":{"scheme":"exact","network":"eip155:84532","amount":"10000","asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}},"payload":{"signature":"0x00","authorization":{"from":"0x857b06519E91e3A54538791bDbb0E22373e36b66","to":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","value":"10000","validAfter":"0","validBefore":"99999999999","nonce":"0x01"}}},"paymentRequirements":{"scheme":"exact","network":"eip155:84532","amount":"10000","asset":"0x036CbD53842c5426634e7929541eC2318f3dCF7e","payTo":"0x209693Bc6afc0C5328bA36FaF03C514EF312287C","maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}}}""";

    public static async Task<LoadReport> RunAsync(bool hedging, double rate, TimeSpan duration)
    {
        await using var primary = await LatencyUpstream.StartAsync(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(500), 0.05);
        await using var secondary = await LatencyUpstream.StartAsync(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(2), 0);
        var settings = new Dictionary<string, string?>
        {
            ["Upstreams:0:Id"] = "primary",
            ["Upstreams:0:Url"] = primary.Url,
            ["Upstreams:1:Id"] = "secondary",
            ["Upstreams:1:Url"] = secondary.Url,
            ["Aggregator:Hedging"] = hedging ? "true" : "false",
            ["FACILITATOR_HEALTH_CHECK"] = "false",
            ["LocalVerification:Mode"] = "off",
            ["Edge:Limits:MaxConnectionsPerClient"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        var app = Program.BuildService(settings);
        await app.StartAsync();
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024 })
            {
                BaseAddress = new Uri(app.Urls.First()),
                Timeout = TimeSpan.FromSeconds(10),
            };
            var content = System.Text.Encoding.UTF8.GetBytes(Payment);

            // A warm-up so that the primary's recent p95 (the hedge delay) is known before measuring.
            await new ConstantRateRun("warm-up", rate, TimeSpan.FromSeconds(3)).RunAsync(ct => SendAsync(client, content, ct));
            var before = primary.Requests + secondary.Requests;
            var run = new ConstantRateRun(hedging ? "verify, 5% of primary at 500 ms, hedging on" : "verify, 5% of primary at 500 ms, hedging off", rate, duration);
            var report = await run.RunAsync(ct => SendAsync(client, content, ct));
            var upstreamRequests = primary.Requests + secondary.Requests - before;
            report.Facts["extra requests"] = ((upstreamRequests / (double)report.Requests) - 1).ToString("P1", CultureInfo.InvariantCulture);
            return report;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task<string> SendAsync(HttpClient client, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("/verify", content, cancellationToken);
        await response.Content.CopyToAsync(Stream.Null, cancellationToken);
        return ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
    }
}
