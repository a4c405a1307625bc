namespace Facilitator.Fast.Evm;

/// <summary>Counts of local verdicts and, in shadow mode, of how they compared with the upstreams' answers. Interlocked.</summary>
public sealed class LocalVerificationStatistics
{
    private readonly long[] _invalidByCheck = new long[(int)LocalCheck.MalformedNonce + 1];
    private readonly long[] _unjudgedByCause = new long[(int)UnjudgedCause.NonCanonicalHex + 1];
    private long _valid;
    private long _agreements;
    private long _localStricter;
    private long _upstreamStricter;
    private long _reasonMismatches;

    public long Valid => Volatile.Read(ref _valid);

    /// <summary>Shadow mode: the upstream's answer matched the local verdict (accepted both, or rejected both).</summary>
    public long Agreements => Volatile.Read(ref _agreements);

    /// <summary>Shadow mode: the local check rejected a payment the upstream accepted. Should stay zero.</summary>
    public long LocalStricter => Volatile.Read(ref _localStricter);

    /// <summary>Shadow mode: the upstream rejected a payment the local checks passed (chain checks: balance, nonce...).</summary>
    public long UpstreamStricter => Volatile.Read(ref _upstreamStricter);

    /// <summary>Shadow mode: both rejected, with different reasons (a check order or reason table that differs).</summary>
    public long ReasonMismatches => Volatile.Read(ref _reasonMismatches);

    public void RecordReasonMismatch() => Interlocked.Increment(ref _reasonMismatches);

    public long InvalidBy(LocalCheck check) => Volatile.Read(ref _invalidByCheck[(int)check]);

    public long UnjudgedBy(UnjudgedCause cause) => Volatile.Read(ref _unjudgedByCause[(int)cause]);

    public void Record(in LocalVerdict verdict)
    {
        if (Telemetry.FacilitatorTelemetry.LocalVerdicts.Enabled)
        {
            Telemetry.FacilitatorTelemetry.LocalVerdicts.Add(
                1,
                new KeyValuePair<string, object?>("facilitator.verdict", verdict.Kind.ToString()),
                new KeyValuePair<string, object?>("facilitator.reason", verdict.Kind == LocalVerdictKind.Invalid ? verdict.FailedCheck.ToString() : verdict.Cause.ToString()));
        }

        switch (verdict.Kind)
        {
            case LocalVerdictKind.Valid:
                Interlocked.Increment(ref _valid);
                break;
            case LocalVerdictKind.Invalid:
                Interlocked.Increment(ref _invalidByCheck[(int)verdict.FailedCheck]);
                break;
            case LocalVerdictKind.Unjudged:
                Interlocked.Increment(ref _unjudgedByCause[(int)verdict.Cause]);
                break;
        }
    }

    public void RecordComparison(bool localAccepted, bool upstreamAccepted)
    {
        if (localAccepted == upstreamAccepted)
        {
            Interlocked.Increment(ref _agreements);
        }
        else if (upstreamAccepted)
        {
            Interlocked.Increment(ref _localStricter);
        }
        else
        {
            Interlocked.Increment(ref _upstreamStricter);
        }
    }
}
