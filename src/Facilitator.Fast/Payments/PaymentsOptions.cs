namespace Facilitator.Fast.Payments;

/// <summary>Section <c>Payments</c>: the <c>/v1</c> lifecycle — fees, auto-settlement, storage bounds and privacy.</summary>
public sealed class PaymentsOptions
{
    public const string SectionName = "Payments";

    /// <summary>Fee rate in basis points of the amount; 0 turns fees off.</summary>
    public int FeeRateBps { get; set; } = 10;

    /// <summary>The smallest fee, in token units.</summary>
    public string MinFee { get; set; } = "0.001";

    /// <summary>The largest fee, in token units.</summary>
    public string MaxFee { get; set; } = "100";

    /// <summary>Settle verified payments without being asked.</summary>
    public bool AutoSettle { get; set; }

    /// <summary>How long after verification a payment is settled automatically.</summary>
    public int AutoSettleDelayMs { get; set; } = 5000;

    /// <summary>Automatic settlement happens at the latest this long before the authorization's <c>validBefore</c>.</summary>
    public int AutoSettleMarginSeconds { get; set; } = 30;

    /// <summary>At most this many payments are settled automatically at a time, per instance.</summary>
    public int BatchSize { get; set; } = 10;

    /// <summary>How often an instance looks for payments due for automatic settlement or expiry.</summary>
    public int SweepIntervalMs { get; set; } = 1000;

    /// <summary>How long a payment record is kept after its authorization's <c>validBefore</c>.</summary>
    public int RetentionDays { get; set; } = 7;

    /// <summary>The in-memory store's bound; a full store refuses new verifies (503) rather than drop an unsettled payment.</summary>
    public long MaxMemoryBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Concurrent items of one batch verify.</summary>
    public int BatchConcurrency { get; set; } = 8;
}
