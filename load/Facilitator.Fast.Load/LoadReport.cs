using System.Globalization;
using System.Text;
using System.Text.Json;
using HdrHistogram;

namespace Facilitator.Fast.Load;

/// <summary>One run's figures: requests, achieved rate, outcomes, latency percentiles (ms), and extra facts of the scenario.</summary>
internal sealed record LoadReport(
    string Scenario,
    double TargetRate,
    long Requests,
    double AchievedRate,
    Dictionary<string, long> Outcomes,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs)
{
    public Dictionary<string, string> Facts { get; } = new(StringComparer.Ordinal);

    public long Errors => Outcomes.Where(static o => o.Key != "200").Sum(static o => o.Value);

    public static LoadReport From(string scenario, double rate, long requests, TimeSpan elapsed, HistogramBase latency, Dictionary<string, long> outcomes)
    {
        static double Ms(long microseconds) => Math.Round(microseconds / 1000.0, 2);
        if (latency.TotalCount == 0)
        {
            return new LoadReport(scenario, rate, requests, Math.Round(requests / elapsed.TotalSeconds, 1), new Dictionary<string, long>(outcomes), 0, 0, 0, 0, 0);
        }

        return new LoadReport(
            scenario,
            rate,
            requests,
            Math.Round(requests / elapsed.TotalSeconds, 1),
            new Dictionary<string, long>(outcomes),
            Ms(latency.GetValueAtPercentile(50)),
            Ms(latency.GetValueAtPercentile(90)),
            Ms(latency.GetValueAtPercentile(99)),
            Ms(latency.GetValueAtPercentile(99.9)),
            Ms(latency.GetMaxValue()));
    }

    public static string Markdown(IEnumerable<LoadReport> reports)
    {
        var text = new StringBuilder();
        text.AppendLine("| scenario | requests | rate (target/achieved) | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | outcomes | notes |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (var r in reports)
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Scenario} | {r.Requests} | {r.TargetRate}/{r.AchievedRate} | {r.P50Ms} | {r.P90Ms} | {r.P99Ms} | {r.P999Ms} | {r.MaxMs} | {string.Join(", ", r.Outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key}: {o.Value}"))} | {string.Join(", ", r.Facts.Select(f => $"{f.Key}: {f.Value}"))} |"));
        }

        return text.ToString();
    }

    public static string Json(IEnumerable<LoadReport> reports)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartArray();
            foreach (var r in reports)
            {
                writer.WriteStartObject();
                writer.WriteString("scenario", r.Scenario);
                writer.WriteNumber("targetRate", r.TargetRate);
                writer.WriteNumber("requests", r.Requests);
                writer.WriteNumber("achievedRate", r.AchievedRate);
                writer.WriteNumber("p50Ms", r.P50Ms);
                writer.WriteNumber("p90Ms", r.P90Ms);
                writer.WriteNumber("p99Ms", r.P99Ms);
                writer.WriteNumber("p999Ms", r.P999Ms);
                writer.WriteNumber("maxMs", r.MaxMs);
                writer.WriteStartObject("outcomes");
                foreach (var (key, value) in r.Outcomes)
                {
                    writer.WriteNumber(key, value);
                }

                writer.WriteEndObject();
                writer.WriteStartObject("facts");
                foreach (var (key, value) in r.Facts)
                {
                    writer.WriteString(key, value);
                }

                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
