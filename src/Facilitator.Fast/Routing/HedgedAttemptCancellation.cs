namespace Facilitator.Fast.Routing;

/// <summary>
/// The cancellation of one attempt in a hedge race. It ends for one of three reasons — the caller went away, the
/// attempt's own timeout, or the race chose the other answer — and the attempt must tell them apart: a timeout is a
/// failure that moves the request on, a superseded attempt is thrown away. The race says so before it cancels; the
/// attempt never guesses from the clock (a timer may fire a little before a stopwatch says the limit has passed).
/// </summary>
public sealed class HedgedAttemptCancellation : IDisposable
{
    private volatile bool _superseded;

    public HedgedAttemptCancellation(CancellationToken callerAborted) => Source = UpstreamCall.CreateAttemptSource(callerAborted);

    /// <summary>Cancels on the caller's abort, on the attempt's timeout (set by the attempt), and when superseded.</summary>
    public CancellationTokenSource Source { get; }

    /// <summary>Whether the race cancelled this attempt because it no longer needs its answer.</summary>
    public bool Superseded => _superseded;

    /// <summary>Marks the attempt as not needed, then cancels it.</summary>
    public Task SupersedeAsync()
    {
        _superseded = true;
        return Source.CancelAsync();
    }

    public void Dispose() => Source.Dispose();
}
