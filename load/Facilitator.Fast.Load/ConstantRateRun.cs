using System.Diagnostics;
using HdrHistogram;

namespace Facilitator.Fast.Load;

/// <summary>
/// An open-model load: requests start on the <see cref="LoadModel"/>'s schedule whatever the server does, and each
/// latency is measured from the moment the request was due, so a slow server cannot slow the clock and hide its
/// latency (no coordinated omission). Bounded by count and time; it stops by itself.
/// </summary>
internal sealed class ConstantRateRun
{
    private readonly LoadModel _model;

    private readonly LongConcurrentHistogram _latency = new(1, TimeStamp.Seconds(60), 3);
    private readonly Dictionary<string, long> _outcomes = new(StringComparer.Ordinal);

    public ConstantRateRun(string name, double ratePerSecond, TimeSpan duration)
        : this(name, LoadModel.Constant(ratePerSecond, duration))
    {
    }

    public ConstantRateRun(string name, LoadModel model)
    {
        Name = name;
        _model = model;
        Rate = (model.StartRate + model.EndRate) / 2;
        Duration = model.Duration;
    }

    public string Name { get; }

    public double Rate { get; }

    public TimeSpan Duration { get; }

    /// <summary>Runs <paramref name="send"/> on the schedule; it gets the request's index and returns an outcome label ("200", "503", "wrong answer", ...).</summary>
    public Task<LoadReport> RunAsync(Func<CancellationToken, Task<string>> send) => RunAsync((_, ct) => send(ct));

    public async Task<LoadReport> RunAsync(Func<long, CancellationToken, Task<string>> send)
    {
        var total = _model.TotalRequests;
        var started = Stopwatch.GetTimestamp();
        var inFlight = new List<Task>((int)Math.Min(total, 1_000_000));
        using var deadline = new CancellationTokenSource(Duration + TimeSpan.FromSeconds(30));
        for (long i = 0; i < total; i++)
        {
            var due = started + (long)(_model.DueSeconds(i) * Stopwatch.Frequency);
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var index = i;
            inFlight.Add(SendOneAsync(ct => send(index, ct), due, deadline.Token));
        }

        await Task.WhenAll(inFlight);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var report = LoadReport.From(Name, Rate, total, elapsed, _latency, _outcomes);
        report.Facts["load model"] = _model.Name;
        return report;
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
