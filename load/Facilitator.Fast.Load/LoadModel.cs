namespace Facilitator.Fast.Load;

/// <summary>
/// When each request of an open-model run is due: a constant arrival rate, or a linear ramp from one rate to another.
/// The schedule is fixed before the run; the server's speed cannot change it.
/// </summary>
internal sealed record LoadModel(string Name, double StartRate, double EndRate, TimeSpan Duration)
{
    public static LoadModel Constant(double rate, TimeSpan duration) => new($"{rate}/s", rate, rate, duration);

    public static LoadModel Ramp(double from, double to, TimeSpan duration) => new($"{from}→{to}/s", from, to, duration);

    /// <summary>Requests in the run: the integral of the rate over the duration.</summary>
    public long TotalRequests => (long)((StartRate + EndRate) / 2 * Duration.TotalSeconds);

    /// <summary>Seconds from the start at which request <paramref name="index"/> is due.</summary>
    public double DueSeconds(long index)
    {
        var slope = (EndRate - StartRate) / Duration.TotalSeconds;
        if (Math.Abs(slope) < 1e-9)
        {
            return index / StartRate;
        }

        // Arrivals by time t: StartRate·t + slope·t²/2 = index; the positive root.
        return (-StartRate + Math.Sqrt((StartRate * StartRate) + (2 * slope * index))) / slope;
    }
}
