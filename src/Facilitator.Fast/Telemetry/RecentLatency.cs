namespace Facilitator.Fast.Telemetry;

/// <summary>
/// Latency of the last window or two (not since start), for decisions that must follow an upstream as it changes:
/// the hedge delay is an upstream's recent p95.
/// </summary>
/// <remarks>
/// Two <see cref="LatencyHistogram"/>s: recordings go to the current one; when its window ends it becomes the previous
/// one and a fresh histogram takes its place (one small allocation per window). The percentile is read from the
/// previous, complete window (or the current one while there is none) and cached for a second, so a request reads a
/// field rather than walking the buckets.
/// </remarks>
public sealed class RecentLatency
{
    private const int MinimumSamples = 20;
    private static readonly long CacheTicks = TimeSpan.TicksPerSecond;

    private readonly long _windowTicks;
    private Window _window;
    private long _cachedP95;
    private long _cachedUntilTicks;

    public RecentLatency(TimeSpan window)
    {
        _windowTicks = window.Ticks;
        _window = new Window(new LatencyHistogram(), null, 0);
    }

    public void Record(long microseconds, DateTimeOffset now)
    {
        Current(now).Current.Record(microseconds);
    }

    /// <summary>The recent 95th percentile in microseconds, or null while there are too few recordings.</summary>
    public long? P95(DateTimeOffset now)
    {
        var cachedUntil = Volatile.Read(ref _cachedUntilTicks);
        if (now.UtcTicks < cachedUntil)
        {
            var cached = Volatile.Read(ref _cachedP95);
            return cached < 0 ? null : cached;
        }

        var window = Current(now);
        var source = window.Previous is { Count: >= MinimumSamples } previous ? previous : window.Current;
        var p95 = source.Count >= MinimumSamples ? source.Percentile(95) : -1;
        Volatile.Write(ref _cachedP95, p95);
        Volatile.Write(ref _cachedUntilTicks, now.UtcTicks + CacheTicks);
        return p95 < 0 ? null : p95;
    }

    private Window Current(DateTimeOffset now)
    {
        var window = Volatile.Read(ref _window);
        if (now.UtcTicks < window.EndsTicks)
        {
            return window;
        }

        var next = new Window(new LatencyHistogram(), window.Current, now.UtcTicks + _windowTicks);
        var seen = Interlocked.CompareExchange(ref _window, next, window);
        return ReferenceEquals(seen, window) ? next : seen;
    }

    private sealed record Window(LatencyHistogram Current, LatencyHistogram? Previous, long EndsTicks);
}
