using System.Diagnostics;
using HdrHistogram;

namespace Facilitator.Fast.Load;

/// <summary>
/// An open-model load: requests start at a constant arrival rate whatever the server does, and each latency is
/// measured from the moment the request was due, so a slow server cannot slow the clock and hide its latency
/// (no coordinated omission). Bounded by count and time; it stops by itself.
/// </summary>
internal sealed class ConstantRateRun
{
    private readonly LongConcurrentHistogram _latency = new(1, TimeStamp.Seconds(60), 3);
    private readonly Dictionary<string, long> _outcomes = new(StringComparer.Ordinal);

    public ConstantRateRun(string name, double ratePerSecond, TimeSpan duration)
    {
        Name = name;
        Rate = ratePerSecond;
        Duration = duration;
    }

    public string Name { get; }

    public double Rate { get; }

    public TimeSpan Duration { get; }

    /// <summary>Runs <paramref name="send"/> at the arrival rate; it returns an outcome label ("200", "503", "timeout", ...).</summary>
    public async Task<LoadReport> RunAsync(Func<CancellationToken, Task<string>> send)
    {
        var total = (long)(Rate * Duration.TotalSeconds);
        var interval = Stopwatch.Frequency / Rate;
        var started = Stopwatch.GetTimestamp();
        var inFlight = new List<Task>((int)Math.Min(total, 1_000_000));
        using var deadline = new CancellationTokenSource(Duration + TimeSpan.FromSeconds(30));
        for (long i = 0; i < total; i++)
        {
            var due = started + (long)(i * interval);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            inFlight.Add(SendOneAsync(send, due, deadline.Token));
        }

        await Task.WhenAll(inFlight);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return LoadReport.From(Name, Rate, total, elapsed, _latency, _outcomes);
    }

    private async Task SendOneAsync(Func<CancellationToken, Task<string>> send, long due, CancellationToken cancellationToken)
    {
        string outcome;
        try
        {
            outcome = await send(cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            outcome = ex is TaskCanceledException ? "timeout" : "transport";
        }

        var microseconds = (long)Stopwatch.GetElapsedTime(due).TotalMicroseconds;
        _latency.RecordValue(Math.Max(microseconds, 1));
        lock (_outcomes)
        {
            _outcomes[outcome] = _outcomes.GetValueOrDefault(outcome) + 1;
        }
    }
}
