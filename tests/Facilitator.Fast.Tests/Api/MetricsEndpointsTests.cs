using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Api;

/// <summary><c>GET /metrics</c>: the service's meters in the Prometheus text format, in the <c>api</c> route group.</summary>
public sealed partial class MetricsEndpointsTests
{
    private const string Key = "metrics-scraper-key-0123456789";

    [Fact]
    public async Task Metrics_AfterTraffic_ParseAsPrometheusTextWithTheServiceMeters()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, $$"""{"isValid":true,"payer":"{{SignedPayments.Payer}}"}""");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("metrics-upstream", upstream.Url)));
        (await gateway.PostAsync("/verify", SignedPayments.V2)).EnsureSuccessStatusCode();

        var samples = new List<Sample>();
        await Eventually.TrueAsync(async () =>
        {
            using var response = await gateway.Client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
            samples = Parse(await response.Content.ReadAsStringAsync());
            return samples.Any(s => s.Name == "facilitator_upstream_attempts_total" && s.Labels.Contains("facilitator_upstream_id=\"metrics-upstream\"", StringComparison.Ordinal));
        }, "the upstream attempt is in the scrape");

        var attempt = samples.First(s => s.Name == "facilitator_upstream_attempts_total" && s.Labels.Contains("metrics-upstream", StringComparison.Ordinal));
        Assert.True(attempt.Value >= 1);
        Assert.Contains(samples, s => s.Name == "facilitator_upstream_duration_milliseconds_bucket" && s.Labels.Contains("le=\"+Inf\"", StringComparison.Ordinal));
        Assert.Contains(samples, s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.Contains("http_route=\"/verify\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_ServerErrorAnswered_DurationTaggedWithItsErrorTypeAndOnlyTheListenedMeters()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 500, """{"error":"boom"}""");
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("failing-upstream", upstream.Url)));
        using (var failed = await gateway.PostAsync("/verify", SignedPayments.V2))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }

        (await gateway.Client.GetAsync("/health")).Dispose();

        var samples = new List<Sample>();
        await Eventually.TrueAsync(async () =>
        {
            using var response = await gateway.Client.GetAsync("/metrics");
            samples = Parse(await response.Content.ReadAsStringAsync());
            return samples.Any(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.Contains("http_route=\"/health\"", StringComparison.Ordinal));
        }, "both requests are in the scrape");

        // Other hosts in this test process record into the same meters: only what this one answered is looked for.
        var durations = samples.Where(s => s.Name == "http_server_request_duration_seconds_count").ToList();
        Assert.Contains(durations, s => s.Labels.Contains("http_route=\"/verify\"", StringComparison.Ordinal)
            && s.Labels.Contains("http_response_status_code=\"503\"", StringComparison.Ordinal)
            && s.Labels.Contains("error_type=\"503\"", StringComparison.Ordinal));
        Assert.DoesNotContain(durations, s => s.Labels.Contains("error_type", StringComparison.Ordinal)
            && !ServerErrorStatus().IsMatch(s.Labels));
        Assert.Contains(samples, s => s.Name.StartsWith("kestrel_", StringComparison.Ordinal));
        Assert.DoesNotContain(samples, s => s.Name.StartsWith("aspnetcore_memory_pool", StringComparison.Ordinal) || s.Name.StartsWith("aspnetcore_routing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_WithApiKeys_RequireAKeyForTheApiGroup()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Auth:ApiKeys:0:Name"] = "scraper";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        settings["Auth:ApiKeys:1:Name"] = "x402-only";
        settings["Auth:ApiKeys:1:Sha256"] = Convert.ToHexStringLower(SHA256.HashData("x402-only-key"u8));
        settings["Auth:ApiKeys:1:Groups:0"] = "x402";
        await using var gateway = await GatewayHost.StartAsync(settings);

        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Client.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await Scrape(gateway, "x402-only-key")).StatusCode);
        using var scraped = await Scrape(gateway, Key);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.NotEmpty(Parse(await scraped.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task Metrics_Disabled_NotFound()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Metrics:Prometheus"] = "false";
        await using var gateway = await GatewayHost.StartAsync(settings);

        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Client.GetAsync("/metrics")).StatusCode);
    }

    [GeneratedRegex("http_response_status_code=\"5[0-9][0-9]\"")]
    private static partial Regex ServerErrorStatus();

    private static async Task<HttpResponseMessage> Scrape(GatewayHost gateway, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Add("X-API-Key", key);
        return await gateway.Client.SendAsync(request);
    }

    /// <summary>
    /// Reads a scrape strictly: every line is a <c># HELP</c>/<c># TYPE</c> comment or a sample, every sample's family was
    /// typed before it, and every value is a number.
    /// </summary>
    private static List<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        var typed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith("# HELP ", StringComparison.Ordinal) || line == "# EOF")
            {
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.Contains(parts[3], new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                typed.Add(parts[2]);
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a Prometheus sample line: {line}");
            var name = match.Groups["name"].Value;
            Assert.True(
                typed.Contains(name) || typed.Any(family => name.StartsWith(family + "_", StringComparison.Ordinal)),
                $"{name} has no # TYPE before it");
            var value = match.Groups["value"].Value;
            var number = value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(name, match.Groups["labels"].Value, number));
        }

        return samples;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*)\})? (?<value>\S+)( -?\d+)?$""")]
    private static partial Regex SampleLine();

    private sealed record Sample(string Name, string Labels, double Value);
}
