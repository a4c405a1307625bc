namespace Facilitator.Fast.Settlement;

/// <summary>Section <c>Settlement</c>: how the settlement ledger keeps claims and records. Zero means "derived" where noted.</summary>
public sealed class SettlementOptions
{
    public const string SectionName = "Settlement";

    /// <summary>
    /// How long a claim stays owned without being renewed. The owner renews it every third of this while it waits on
    /// the upstream; an owner that dies leaves its claim to lapse within this time, after which a repeat retries the
    /// named upstream only.
    /// </summary>
    public int LeaseMs { get; set; } = 10_000;

    /// <summary>
    /// How long a repeat waits for another caller's settlement of the same authorization before answering
    /// <c>settlement_pending</c>. 0: the longest settle (the slowest upstream's <c>SettleTimeoutMs</c> plus 10 s for refusals) plus 5 s.
    /// </summary>
    public int WaitMs { get; set; }

    /// <summary>
    /// How often a waiting repeat reads the record when no change was announced: only a fallback (changes are announced
    /// locally and over Redis pub/sub), and how a lapsed lease is noticed. 0: a quarter of the lease, 50 ms..2 s.
    /// </summary>
    public int PollMs { get; set; }

    /// <summary>
    /// How long after a settlement became pending its holder is first asked again (with the identical request); the
    /// delay doubles with each answer that is still not an outcome, up to 5 minutes.
    /// </summary>
    public int ReconcileAfterMs { get; set; } = 10_000;

    /// <summary>The longest a record is kept, whatever the authorization's <c>validBefore</c> says.</summary>
    public int MaxRetentionHours { get; set; } = 24;

    /// <summary>
    /// How long a failure is kept (and replayed to the very same request): a failure spends no nonce and may not be
    /// true a moment later, so a repeat after this goes upstream again.
    /// </summary>
    public int FailureRetentionMs { get; set; } = 10_000;

    /// <summary>
    /// The longest an in-flight record of a payment whose signature could not be checked is kept (anyone can send such
    /// payments): minutes, not the authorization's life. At least the longest settle plus a minute. Once pending, such a
    /// record is kept like any other (an upstream may be executing it), within the in-memory bound's unverified share.
    /// </summary>
    public int UnverifiedRetentionMinutes { get; set; } = 10;

    /// <summary>The in-memory ledger's bound (records, answers and queues); when only unfinished records remain at it, settles get 503.</summary>
    public long MaxMemoryBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// On shutdown, how long the service waits for settles in flight after it stops taking new ones. 0: the longest
    /// settle plus 5 s. The host's shutdown timeout is set above it.
    /// </summary>
    public int DrainTimeoutMs { get; set; }
}
