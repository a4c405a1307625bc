namespace Facilitator.Fast.Analytics;

/// <summary><c>GET /v1/analytics/overview</c>: totals since the counters began, volume and fees in US dollars.</summary>
internal sealed record AnalyticsOverview(
    string TotalVolume, string TotalFees, long TotalPayments, double AverageSettlementTime, double Uptime,
    IReadOnlyList<AssetAnalytics> Assets, string Note);

/// <summary>One (network, asset) of the overview, in the asset's own units.</summary>
/// <param name="Symbol">Null for an asset the known-asset table does not list.</param>
/// <param name="Decimals">Null when unknown; <see cref="Units"/> is then <c>atomic</c>.</param>
/// <param name="Units"><c>token</c> (<see cref="Volume"/> in the token's units) or <c>atomic</c> (its smallest units).</param>
internal sealed record AssetAnalytics(
    string Network, string Asset, string? Symbol, int? Decimals, string Volume, string Fees, long Payments, bool Usd, string Units);

/// <summary><c>GET /v1/analytics/networks</c>.</summary>
internal sealed record NetworkAnalyticsList(IReadOnlyList<NetworkAnalytics> Networks, string Note);

/// <summary>One network (CAIP-2): US-dollar volume and fees, payments of every asset, the last settlement (ms).</summary>
/// <param name="AverageGas">Always null: the upstream facilitator pays and sees the gas, the gateway never does.</param>
internal sealed record NetworkAnalytics(string ChainId, string Volume, string Fees, long Payments, string? AverageGas, long LastActivity);

/// <summary><c>GET /v1/analytics/revenue</c>: the current period's UTC buckets, [from, to) in ms.</summary>
internal sealed record RevenueReport(
    string Period, long From, long To, string TotalFees, string TotalVolume, long Payments,
    IReadOnlyList<RevenueBucket> Buckets, IReadOnlyDictionary<string, RevenueFigures> ByNetwork, string Note);

/// <summary>One bucket [start, end) of a revenue report, with its figures per network.</summary>
internal sealed record RevenueBucket(
    long Start, long End, string Volume, string Fees, long Payments, IReadOnlyDictionary<string, RevenueFigures> Networks);

/// <summary>US-dollar volume and fees, and payments of every asset.</summary>
internal sealed record RevenueFigures(string Volume, string Fees, long Payments);

/// <summary>The seed's <c>FacilitatorStats</c> (<c>GET /v1/status</c>'s <c>stats</c>).</summary>
internal sealed record FacilitatorStats(
    long TotalPaymentsProcessed, string TotalVolumeUsd, string TotalFeesCollected, long PendingSettlements,
    double AverageSettlementTime, double UptimePercentage, IReadOnlyDictionary<string, NetworkStats> NetworkStats);

/// <summary>The seed's answer to <c>GET /v1/status</c>.</summary>
/// <param name="Uptime">Seconds since this instance started.</param>
internal sealed record ServiceStatus(FacilitatorStats Stats, long Uptime, string Version);

/// <summary>The seed's <c>NetworkStats</c>, keyed by CAIP-2 id.</summary>
/// <param name="AverageGasCost">Always null: the gateway never sees gas.</param>
internal sealed record NetworkStats(
    string ChainId, long PaymentsProcessed, string VolumeUsd, string FeesCollected, string? AverageGasCost, long LastSettlement);
