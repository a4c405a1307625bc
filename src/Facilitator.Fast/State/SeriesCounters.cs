namespace Facilitator.Fast.State;

/// <summary>The counters of one (network, asset) in one bucket.</summary>
internal struct SeriesCounters
{
    /// <summary>Settled payments.</summary>
    public long Payments;

    /// <summary>Their amounts, in atomic units.</summary>
    public DecimalLimbs Volume;

    /// <summary>Their fees, in millionths of the asset's unit.</summary>
    public DecimalLimbs FeeMicros;

    /// <summary>The sum of their settlement times, in ms.</summary>
    public long SettlementMsSum;

    /// <summary>When the last of them settled (Unix ms).</summary>
    public long LastActivityMs;

    public void Add(in AnalyticsSample sample)
    {
        Payments++;
        Volume.Add(sample.Volume);
        FeeMicros.Add(sample.FeeMicros);
        SettlementMsSum += sample.SettlementMs;
        LastActivityMs = Math.Max(LastActivityMs, sample.AtMs);
    }

    /// <summary>Adds another bucket's counters of the same series (a report summing buckets).</summary>
    public void Add(in SeriesCounters other)
    {
        Payments += other.Payments;
        Volume.Add(other.Volume);
        FeeMicros.Add(other.FeeMicros);
        SettlementMsSum += other.SettlementMsSum;
        LastActivityMs = Math.Max(LastActivityMs, other.LastActivityMs);
    }
}
