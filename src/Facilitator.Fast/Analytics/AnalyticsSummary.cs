using System.Numerics;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Analytics;

/// <summary>
/// One bucket's counters summed for the reports: US dollars over the USD stablecoins of the known-asset table (each
/// converted exactly through its decimals), payments and settlement time over every asset, and the same per network.
/// </summary>
internal sealed class AnalyticsSummary
{
    /// <summary>Dollar sums are kept at 18 decimals (every USD asset has fewer), exact, and written without trailing zeros.</summary>
    private const int UsdScale = 18;

    public BigInteger UsdVolume { get; private set; }

    public BigInteger UsdFees { get; private set; }

    public long Payments { get; private set; }

    public long SettlementMsSum { get; private set; }

    public long LastActivityMs { get; private set; }

    /// <summary>The same per CAIP-2 network, by id.</summary>
    public SortedDictionary<string, AnalyticsSummary> Networks { get; } = new(StringComparer.Ordinal);

    public static AnalyticsSummary Of(IReadOnlyDictionary<AnalyticsSeries, SeriesCounters> bucket)
    {
        var summary = new AnalyticsSummary();
        foreach (var (series, counters) in bucket)
        {
            var known = KnownAssets.Find(series.Network, series.Asset);
            summary.Add(known, counters);
            if (!summary.Networks.TryGetValue(series.Network, out var network))
            {
                summary.Networks[series.Network] = network = new AnalyticsSummary();
            }

            network.Add(known, counters);
        }

        return summary;
    }

    public double AverageSettlementMs => Payments == 0 ? 0 : Math.Round((double)SettlementMsSum / Payments, 1);

    public string Volume => TokenAmount.Format(UsdVolume, UsdScale);

    public string Fees => TokenAmount.Format(UsdFees, UsdScale);

    public RevenueFigures Figures => new(Volume, Fees, Payments);

    /// <summary>Dollars of <paramref name="atomic"/> units of a USD asset with <paramref name="decimals"/>, at <see cref="UsdScale"/>.</summary>
    public static BigInteger ToUsd(BigInteger atomic, int decimals) => decimals <= UsdScale
        ? atomic * BigInteger.Pow(10, UsdScale - decimals)
        : atomic / BigInteger.Pow(10, decimals - UsdScale);

    private void Add(KnownAsset? known, in SeriesCounters counters)
    {
        Payments += counters.Payments;
        SettlementMsSum += counters.SettlementMsSum;
        LastActivityMs = Math.Max(LastActivityMs, counters.LastActivityMs);
        if (known is { IsUsd: true })
        {
            UsdVolume += ToUsd(counters.Volume.ToBigInteger(), known.Decimals);
            UsdFees += ToUsd(counters.FeeMicros.ToBigInteger(), FeeSchedule.FeeDecimals);
        }
    }
}
