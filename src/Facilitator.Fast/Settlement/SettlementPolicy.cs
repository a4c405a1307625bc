using Facilitator.Fast.Routing;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>
/// The settlement settings after validation, with the derived durations (the longest settle, waits, drain) computed
/// from the routing configuration: what the ledger, the coordinator and the drain read.
/// </summary>
public sealed class SettlementPolicy
{
    /// <summary>How long after <c>validBefore</c> a record is kept, for clocks that disagree.</summary>
    public static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(30);

    /// <summary>What the attempts refused at once (connection refused, 429, 401) can add to a settle's one long attempt.</summary>
    public static readonly TimeSpan QuickRefusals = TimeSpan.FromSeconds(10);

    /// <summary>How long a record is kept when the payment carries no <c>validBefore</c> the ledger could read.</summary>
    public static readonly TimeSpan UndatedRetention = TimeSpan.FromHours(1);

    private SettlementPolicy(SettlementOptions options, TimeSpan longestSettle)
    {
        Lease = TimeSpan.FromMilliseconds(options.LeaseMs);
        RenewEvery = Lease / 3;
        PollEvery = TimeSpan.FromMilliseconds(options.PollMs > 0 ? options.PollMs : Math.Clamp(options.LeaseMs / 4, 50, 2000));
        LongestSettle = longestSettle;
        Wait = options.WaitMs > 0 ? TimeSpan.FromMilliseconds(options.WaitMs) : longestSettle + TimeSpan.FromSeconds(5);
        Drain = options.DrainTimeoutMs > 0 ? TimeSpan.FromMilliseconds(options.DrainTimeoutMs) : longestSettle + TimeSpan.FromSeconds(5);
        MaxRetention = TimeSpan.FromHours(options.MaxRetentionHours);
        MinRetention = TimeSpan.FromTicks(Math.Min((longestSettle + Lease + TimeSpan.FromMinutes(1)).Ticks, MaxRetention.Ticks));
        FailureRetention = TimeSpan.FromMilliseconds(options.FailureRetentionMs);
        UnverifiedRetention = TimeSpan.FromMinutes(options.UnverifiedRetentionMinutes) > MinRetention
            ? TimeSpan.FromMinutes(options.UnverifiedRetentionMinutes)
            : MinRetention;
        MaxMemoryBytes = options.MaxMemoryBytes;
        ReconcileAfter = TimeSpan.FromMilliseconds(options.ReconcileAfterMs);
    }

    public TimeSpan Lease { get; }

    public TimeSpan RenewEvery { get; }

    /// <summary>How often a waiter reads the record when no notification came: the fallback, and how a lapsed lease is seen.</summary>
    public TimeSpan PollEvery { get; }

    /// <summary>The slowest upstream's settle timeout plus <see cref="QuickRefusals"/>: the longest a settle runs.</summary>
    public TimeSpan LongestSettle { get; }

    public TimeSpan Wait { get; }

    public TimeSpan Drain { get; }

    public TimeSpan MaxRetention { get; }

    /// <summary>A record outlives the settle it covers, even for an authorization about to expire.</summary>
    public TimeSpan MinRetention { get; }

    public TimeSpan FailureRetention { get; }

    public TimeSpan UnverifiedRetention { get; }

    public long MaxMemoryBytes { get; }

    /// <summary>How long after a settlement became pending its holder is asked again.</summary>
    public TimeSpan ReconcileAfter { get; }

    /// <summary>Reads and validates section <c>Settlement</c>; throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public static SettlementPolicy Load(IConfiguration configuration, RoutingConfiguration routing)
    {
        var options = new SettlementOptions();
        try
        {
            configuration.GetSection(SettlementOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidSettingException(SettlementOptions.SectionName, ex.Message.ReplaceLineEndings(" "));
        }

        InvalidSettingException.ThrowIfOutOfRange("Settlement:LeaseMs", options.LeaseMs, 300, 600_000);
        InvalidSettingException.ThrowIfOutOfRange("Settlement:WaitMs", options.WaitMs, 0, 3_600_000);
        InvalidSettingException.ThrowIfOutOfRange("Settlement:PollMs", options.PollMs, 0, 600_000);
        InvalidSettingException.ThrowIfOutOfRange("Settlement:MaxRetentionHours", options.MaxRetentionHours, 1, 720);
        InvalidSettingException.ThrowIfOutOfRange("Settlement:FailureRetentionMs", options.FailureRetentionMs, 1000, 3_600_000);
        InvalidSettingException.ThrowIfOutOfRange("Settlement:UnverifiedRetentionMinutes", options.UnverifiedRetentionMinutes, 1, 10_080);
        InvalidSettingException.ThrowIfOutOfRange("Settlement:DrainTimeoutMs", options.DrainTimeoutMs, 0, 3_600_000);
        InvalidSettingException.ThrowIfOutOfRange("Settlement:ReconcileAfterMs", options.ReconcileAfterMs, 100, 3_600_000);
        if (options.MaxMemoryBytes is < 1024 * 1024 or > 64L * 1024 * 1024 * 1024)
        {
            throw new InvalidSettingException("Settlement:MaxMemoryBytes", "must be between 1 MiB and 64 GiB.");
        }

        // A settle waits out one attempt at most: an attempt that times out ends it as pending, and the attempts before
        // (or on other upstreams) are only those refused at once, unread. A margin covers those.
        var longest = routing.Upstreams.Where(static u => u.Enabled)
            .Select(static u => u.SettleTimeout).DefaultIfEmpty(TimeSpan.FromSeconds(30)).Max() + QuickRefusals;
        return new SettlementPolicy(options, longest);
    }

    /// <summary>
    /// How long to keep <paramref name="next"/>: until the authorization's <c>validBefore</c> (plus a margin), within
    /// <see cref="MinRetention"/>..<see cref="MaxRetention"/>; a failure only briefly; an in-flight record of a payment
    /// anyone could have sent at most <see cref="UnverifiedRetention"/>.
    /// </summary>
    public TimeSpan KeepFor(SettlementRecord next, in SettlementIdentity identity, long nowMs)
    {
        if (next is { State: SettlementState.Finished, Success: false })
        {
            return FailureRetention;
        }

        var remainingMs = identity.ValidBeforeSeconds == 0
            ? UndatedRetention.TotalMilliseconds
            : (identity.ValidBeforeSeconds * 1000.0) - nowMs + ExpiryMargin.TotalMilliseconds;
        // Anyone can send a payment whose signature cannot be checked: its claim lapses within minutes. Once it is pending,
        // though, an upstream may be executing it, and only its record keeps a repeat from a second upstream.
        var longest = next is { Verified: false, State: SettlementState.InFlight } ? UnverifiedRetention : MaxRetention;
        return TimeSpan.FromMilliseconds(Math.Clamp(remainingMs, MinRetention.TotalMilliseconds, Math.Max(longest.TotalMilliseconds, MinRetention.TotalMilliseconds)));
    }
}
