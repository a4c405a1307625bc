using Facilitator.Fast.Health;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Analytics;

/// <summary>
/// Builds the analytics reports and the seed's <c>FacilitatorStats</c> from the pre-aggregated counters: the totals hash
/// for the overview, networks and stats, and at most 31 buckets for a revenue period — never a scan of payments.
/// </summary>
/// <remarks>
/// Volume and fees are US dollars summed over the USD stablecoins of the known-asset table; other assets appear only in
/// the overview's asset breakdown, in their own units (atomic units when their decimals are unknown). Payments and
/// settlement times count every asset. Fees are what the fee schedule gives; the gateway reports them, it does not
/// collect them. A store fault (Redis unreachable) throws for the endpoint to answer 503.
/// </remarks>
internal sealed class AnalyticsReports(IAnalyticsStore store, UptimeTracker uptime, TimeProvider time)
{
    public const string GasNote = "averageGas is null: the upstream facilitator submits the transaction and pays its gas; the gateway never sees it.";

    private const string UsdNote = "Volume and fees are US dollars of USD stablecoins; payments count every asset. Fees are computed by the fee schedule and reported, not collected.";

    private const string OverviewNote = UsdNote + " Other assets appear only under assets, in their own units (atomic units when their decimals are unknown).";

    private static readonly DateTimeOffset[] s_allTime = [DateTimeOffset.UnixEpoch];

    public async ValueTask<AnalyticsOverview> OverviewAsync()
    {
        var totals = await AllTimeAsync().ConfigureAwait(false);
        var summary = AnalyticsSummary.Of(totals);
        var assets = new List<AssetAnalytics>(totals.Count);
        foreach (var (series, counters) in totals.OrderBy(static p => p.Key.Network, StringComparer.Ordinal).ThenBy(static p => p.Key.Asset, StringComparer.Ordinal))
        {
            var known = KnownAssets.Find(series.Network, series.Asset);
            assets.Add(new AssetAnalytics(
                series.Network,
                series.Asset,
                known?.Symbol,
                known?.Decimals,
                known is null ? counters.Volume.ToString() : TokenAmount.Format(counters.Volume.ToBigInteger(), known.Decimals),
                TokenAmount.Format(counters.FeeMicros.ToBigInteger(), FeeSchedule.FeeDecimals),
                counters.Payments,
                known?.IsUsd ?? false,
                known is null ? "atomic" : "token"));
        }

        return new AnalyticsOverview(
            summary.Volume, summary.Fees, summary.Payments, summary.AverageSettlementMs, Math.Round(uptime.Percentage, 3), assets, OverviewNote);
    }

    public async ValueTask<NetworkAnalyticsList> NetworksAsync()
    {
        var summary = AnalyticsSummary.Of(await AllTimeAsync().ConfigureAwait(false));
        var networks = summary.Networks
            .Select(static p => new NetworkAnalytics(p.Key, p.Value.Volume, p.Value.Fees, p.Value.Payments, null, p.Value.LastActivityMs))
            .ToList();
        return new NetworkAnalyticsList(networks, GasNote + " " + UsdNote);
    }

    public async ValueTask<RevenueReport> RevenueAsync(RevenuePeriod period)
    {
        var now = time.GetUtcNow();
        var (kind, from, to) = RevenuePeriods.Range(period, now);
        var starts = RevenuePeriods.Starts(kind, from, to);

        // Buckets that have not begun are zero: only those up to now are read.
        var past = starts.FindAll(start => start <= now);
        var read = await store.ReadAsync(kind, past).ConfigureAwait(false);

        var total = new Dictionary<AnalyticsSeries, SeriesCounters>();
        var buckets = new List<RevenueBucket>(starts.Count);
        for (var i = 0; i < starts.Count; i++)
        {
            var counters = i < read.Length ? read[i] : new Dictionary<AnalyticsSeries, SeriesCounters>();
            foreach (var (series, value) in counters)
            {
                System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(total, series, out _).Add(value);
            }

            var summary = AnalyticsSummary.Of(counters);
            buckets.Add(new RevenueBucket(
                starts[i].ToUnixTimeMilliseconds(),
                AnalyticsBuckets.Next(kind, starts[i]).ToUnixTimeMilliseconds(),
                summary.Volume,
                summary.Fees,
                summary.Payments,
                ByNetwork(summary)));
        }

        var overall = AnalyticsSummary.Of(total);
        return new RevenueReport(
            RevenuePeriods.Name(period), from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds(), overall.Fees, overall.Volume, overall.Payments,
            buckets, ByNetwork(overall), "Buckets are UTC. " + UsdNote);
    }

    /// <summary>The seed's <c>FacilitatorStats</c>; <paramref name="pendingSettlements"/> comes from the payment store.</summary>
    public async ValueTask<FacilitatorStats> StatsAsync(long pendingSettlements)
    {
        var summary = AnalyticsSummary.Of(await AllTimeAsync().ConfigureAwait(false));
        var networks = new Dictionary<string, NetworkStats>(summary.Networks.Count, StringComparer.Ordinal);
        foreach (var (chainId, network) in summary.Networks)
        {
            networks[chainId] = new NetworkStats(chainId, network.Payments, network.Volume, network.Fees, null, network.LastActivityMs);
        }

        return new FacilitatorStats(
            summary.Payments, summary.Volume, summary.Fees, pendingSettlements, summary.AverageSettlementMs, Math.Round(uptime.Percentage, 3), networks);
    }

    private async ValueTask<IReadOnlyDictionary<AnalyticsSeries, SeriesCounters>> AllTimeAsync() =>
        (await store.ReadAsync(AnalyticsBucketKind.AllTime, s_allTime).ConfigureAwait(false))[0];

    private static Dictionary<string, RevenueFigures> ByNetwork(AnalyticsSummary summary)
    {
        var networks = new Dictionary<string, RevenueFigures>(summary.Networks.Count, StringComparer.Ordinal);
        foreach (var (chainId, network) in summary.Networks)
        {
            networks[chainId] = network.Figures;
        }

        return networks;
    }
}
