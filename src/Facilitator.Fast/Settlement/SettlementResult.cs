using Facilitator.Fast.Routing;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>How a settle is to be answered.</summary>
public enum SettlementAnswer : byte
{
    /// <summary>Routed now: <see cref="SettlementResult.Route"/> holds the outcome.</summary>
    Routed = 0,

    /// <summary>From the ledger: the recorded answer of this authorization, or pending with the upstream that has it.</summary>
    Recorded,

    /// <summary>Another authorization with this payer's nonce is settled, pending or in flight: refused, nothing sent.</summary>
    NonceReused,

    /// <summary>The ledger cannot be used (Redis away, or full): nothing was sent.</summary>
    LedgerUnavailable,

    /// <summary>The service is shutting down and takes no new settle: nothing was sent.</summary>
    ShuttingDown,

    /// <summary>The caller went away while waiting for another caller's settlement of the same authorization.</summary>
    Abandoned,
}

/// <summary>A settle's answer, with what it needs: the routed result, or the record it was answered from, or why not.</summary>
public sealed class SettlementResult : IDisposable
{
    private SettlementResult(SettlementAnswer answer, RouteResult? route, SettlementRecord? record, string? message, SettlementKeyKind reusedKind = default)
    {
        Answer = answer;
        Route = route;
        Record = record;
        Message = message;
        ReusedKind = reusedKind;
    }

    public static SettlementResult ShuttingDown { get; } = new(SettlementAnswer.ShuttingDown, null, null, null);

    public static SettlementResult Abandoned { get; } = new(SettlementAnswer.Abandoned, null, null, null);

    public SettlementAnswer Answer { get; }

    public RouteResult? Route { get; }

    public SettlementRecord? Record { get; }

    /// <summary>Why the ledger could not be used.</summary>
    public string? Message { get; }

    /// <summary>For <see cref="SettlementAnswer.NonceReused"/>: what was reused, an authorization's nonce or a payload.</summary>
    public SettlementKeyKind ReusedKind { get; }

    public static SettlementResult Routed(RouteResult route) => new(SettlementAnswer.Routed, route, null, null);

    public static SettlementResult Recorded(SettlementRecord record) => new(SettlementAnswer.Recorded, null, record, null);

    public static SettlementResult NonceReused(SettlementRecord other, SettlementKeyKind kind) => new(SettlementAnswer.NonceReused, null, other, null, kind);

    public static SettlementResult Unavailable(string message) => new(SettlementAnswer.LedgerUnavailable, null, null, message);

    public void Dispose() => Route?.Dispose();
}
