using System.Numerics;

namespace Facilitator.Fast.Payments;

/// <summary>
/// The seed's fee model: <c>fee = amount × FeeRateBps / 10000</c>, clamped to <c>[MinFee, MaxFee]</c>, rounded (half up)
/// to 6 decimals of the token's units; a rate of 0 charges nothing. The gateway reports fees; it does not collect them
/// on chain.
/// </summary>
public sealed class FeeSchedule
{
    /// <summary>Fees are kept in millionths of a token unit.</summary>
    public const int FeeDecimals = 6;

    private readonly int _rateBps;
    private readonly BigInteger _minMicros;
    private readonly BigInteger _maxMicros;

    public FeeSchedule(int rateBps, BigInteger minMicros, BigInteger maxMicros)
    {
        _rateBps = rateBps;
        _minMicros = minMicros;
        _maxMicros = maxMicros;
    }

    public int RateBps => _rateBps;

    /// <summary>Reads the <c>Payments</c> fee settings; throws <see cref="InvalidSettingException"/> naming a bad one.</summary>
    public static FeeSchedule From(PaymentsOptions options)
    {
        InvalidSettingException.ThrowIfOutOfRange("Payments:FeeRateBps", options.FeeRateBps, 0, 10_000);
        if (!TokenAmount.TryParse(options.MinFee, FeeDecimals, out var min))
        {
            throw new InvalidSettingException("Payments:MinFee", "must be a non-negative decimal with at most 6 decimals.");
        }

        if (!TokenAmount.TryParse(options.MaxFee, FeeDecimals, out var max) || max < min)
        {
            throw new InvalidSettingException("Payments:MaxFee", "must be a non-negative decimal with at most 6 decimals, not below MinFee.");
        }

        return new FeeSchedule(options.FeeRateBps, min, max);
    }

    /// <summary>The fee of <paramref name="atomic"/> units of a token with <paramref name="decimals"/> decimals, in millionths of a token.</summary>
    public BigInteger FeeMicros(BigInteger atomic, int decimals)
    {
        if (_rateBps == 0)
        {
            return BigInteger.Zero;
        }

        // amount × bps / 10^4 in token units is atomic × bps / (10^4 × 10^decimals); in millionths, × 10^6.
        var numerator = atomic * _rateBps * BigInteger.Pow(10, FeeDecimals);
        var denominator = BigInteger.Pow(10, 4 + decimals);
        var micros = (numerator + (denominator / 2)) / denominator;
        return BigInteger.Min(BigInteger.Max(micros, _minMicros), _maxMicros);
    }

    /// <summary>The fee as the API writes it: token units, up to 6 decimals.</summary>
    public string Fee(BigInteger atomic, int decimals) => TokenAmount.Format(FeeMicros(atomic, decimals), FeeDecimals);
}
