using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>How a routed call ended.</summary>
public enum RouteOutcome : byte
{
    /// <summary>An upstream answered; its status and bytes are to be returned as they came.</summary>
    Answered = 0,

    /// <summary>Every eligible upstream failed.</summary>
    AllFailed,

    /// <summary>No upstream was eligible (all unhealthy and cooling down).</summary>
    NoneEligible,

    /// <summary>A settle may have been processed by <see cref="RouteResult.Upstream"/>; its outcome is unknown.</summary>
    SettlementPending,

    /// <summary>No upstream offers the operation (discovery).</summary>
    NotOffered,

    /// <summary>Every upstream's capabilities are known and none lists the payment's (version, scheme, network).</summary>
    Unsupported,

    /// <summary>
    /// Every upstream that was asked rejected the request without a verdict (it could not read it, or does not serve
    /// what it asks for); nothing was processed. <see cref="RouteResult.FailureSummary"/> says what each answered.
    /// </summary>
    Rejected,

    /// <summary>
    /// Settle: the settlement ledger did not let the attempt on <see cref="RouteResult.Upstream"/> leave (it could not
    /// record where it was going); that attempt was not sent, and every earlier one provably reached no upstream.
    /// </summary>
    Withheld,
}

/// <summary>The result of routing one call: the answer, or why there is none and what was tried.</summary>
public sealed class RouteResult : IDisposable
{
    public RouteResult(RouteOutcome outcome, Upstream? upstream, AttemptResult last, int attempts, string? failureSummary)
    {
        Outcome = outcome;
        Upstream = upstream;
        Last = last;
        Attempts = attempts;
        FailureSummary = failureSummary;
    }

    public RouteOutcome Outcome { get; }

    /// <summary>The upstream that answered, or that holds a pending settlement.</summary>
    public Upstream? Upstream { get; }

    /// <summary>The last attempt; holds the answer's bytes when <see cref="Outcome"/> is <see cref="RouteOutcome.Answered"/>.</summary>
    public AttemptResult Last { get; }

    public int Attempts { get; }

    /// <summary>Each upstream tried and why it failed, e.g. "x402-rs: timed out (after 5000 ms) ×2; payai-network: ...".</summary>
    public string? FailureSummary { get; }

    public PooledBytes? Body => Last.Body;

    /// <summary>The soonest <c>Retry-After</c> an upstream gave with a 429 or 503, for the gateway's own 503.</summary>
    public string? RetryAfter { get; init; }

    public void Dispose() => Last.Body?.Dispose();
}
