using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Load;

/// <summary>
/// What the gateway adds: valid verify payments sent straight to a fake upstream (2 ms), then the same through the
/// service (in this process, local verification on, so each payment is also checked locally), at the same rate.
/// </summary>
internal static class OverheadScenario
{
    public static async Task<List<LoadReport>> RunAsync(double rate, TimeSpan duration)
    {
        await using var upstream = await LatencyUpstream.StartAsync(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(2), 0);
        var app = Program.BuildService(new Dictionary<string, string?>
        {
            ["Upstreams:0:Id"] = "upstream",
            ["Upstreams:0:Url"] = upstream.Url,
            ["FACILITATOR_HEALTH_CHECK"] = "false",
            ["RateLimit:Enabled"] = "false",
            ["Edge:Limits:MaxConnectionsPerClient"] = "0",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await app.StartAsync();
        try
        {
            var payer = PaymentSigner.CreatePayer(4022);
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var payments = Enumerable.Range(0, 256).Select(i => Encoding.UTF8.GetBytes(PaymentSigner.Request(payer, 2, now - 600, now + 900, nonceSeed: i))).ToArray();
            using var direct = Client(upstream.Url);
            using var gateway = Client(app.Urls.First());

            await new ConstantRateRun("warm-up", rate, TimeSpan.FromSeconds(2)).RunAsync((i, ct) => SendAsync(gateway, payments[i % payments.Length], ct));
            var straight = await new ConstantRateRun("verify straight to the upstream", rate, duration).RunAsync((i, ct) => SendAsync(direct, payments[i % payments.Length], ct));
            var through = await new ConstantRateRun("verify through the gateway (local verification on)", rate, duration).RunAsync((i, ct) => SendAsync(gateway, payments[i % payments.Length], ct));
            through.Facts["added p50"] = (through.P50Ms - straight.P50Ms).ToString("0.00", CultureInfo.InvariantCulture) + " ms";
            through.Facts["added p99"] = (through.P99Ms - straight.P99Ms).ToString("0.00", CultureInfo.InvariantCulture) + " ms";
            return [straight, through];
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static HttpClient Client(string url) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };

    private static async Task<string> SendAsync(HttpClient client, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("/verify", content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return response.IsSuccessStatusCode && text.Contains("\"isValid\":true", StringComparison.Ordinal) ? "ok" : $"HTTP {(int)response.StatusCode}";
    }
}
