using System.Text;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Analytics;

/// <summary>
/// Reads what the analytics count from a settled request's bytes: the network as a CAIP-2 id, the asset, the amount
/// and its fee. The amount is the EIP-3009 <c>authorization.value</c> — what actually moved — when the payload has one,
/// else the requirements' amount (v2 <c>amount</c>, v1 <c>maxAmountRequired</c>; other schemes such as SVM's).
/// </summary>
/// <remarks>
/// The fee is the fee schedule's for an asset of the known-asset table; an unknown asset's decimals are unknown, so no
/// fee can be computed in its units and it counts 0 (its volume is still counted, in atomic units). An EVM asset address
/// (<c>0x…</c>) is lower-cased so checksummed and plain spellings are one series; other assets (an SVM mint, which is
/// case-sensitive base58) are kept as written.
/// </remarks>
internal static class SettlementSampleReader
{
    private const int MaxAmountDigits = DecimalLimbs.Count * DecimalLimbs.DigitsPerLimb;

    public static bool TryRead(ReadOnlySpan<byte> request, FeeSchedule fees, long settlementMs, long atMs, out AnalyticsSample sample)
    {
        sample = default;
        if (PaymentRequestReader.TryRead(request, out var view) != PaymentRequestError.None)
        {
            return false;
        }

        Span<byte> text = stackalloc byte[AnalyticsSeries.MaxAssetLength];
        if (!view.Network.TryCopyUnescaped(request, text, out var length) || length > AnalyticsSeries.MaxNetworkLength)
        {
            return false;
        }

        var network = KnownAssets.Caip2Of(text[..length]);
        if (!AnalyticsSeries.IsValidPart(network, AnalyticsSeries.MaxNetworkLength)
            || !view[PaymentField.RequirementsAsset].TryCopyUnescaped(request, text, out length))
        {
            return false;
        }

        var assetBytes = text[..length];
        if (assetBytes.StartsWith("0x"u8) || assetBytes.StartsWith("0X"u8))
        {
            Ascii.ToLowerInPlace(assetBytes, out _);
        }

        var asset = Encoding.UTF8.GetString(assetBytes);
        if (!AnalyticsSeries.IsValidPart(asset, AnalyticsSeries.MaxAssetLength))
        {
            return false;
        }

        Span<byte> digits = stackalloc byte[MaxAmountDigits];
        if (!TryReadAmount(request, view, digits, out var digitCount) || !DecimalLimbs.TryParse(digits[..digitCount], out var volume))
        {
            return false;
        }

        var fee = default(DecimalLimbs);
        if (KnownAssets.Find(network, asset) is { } known)
        {
            fee = DecimalLimbs.From(fees.FeeMicros(volume.ToBigInteger(), known.Decimals));
        }

        sample = new AnalyticsSample(new AnalyticsSeries(network, asset), volume, fee, settlementMs, atMs);
        return true;
    }

    /// <summary>The authorization's value, else the requirements' amount of the request's version, else the other one.</summary>
    private static bool TryReadAmount(ReadOnlySpan<byte> request, in PaymentRequestView view, Span<byte> digits, out int length)
    {
        var (preferred, other) = view.Version == 1
            ? (PaymentField.RequirementsMaxAmountRequired, PaymentField.RequirementsAmount)
            : (PaymentField.RequirementsAmount, PaymentField.RequirementsMaxAmountRequired);
        foreach (var field in (ReadOnlySpan<PaymentField>)[PaymentField.Value, preferred, other])
        {
            if (view[field].IsString)
            {
                return view[field].TryCopyUnescaped(request, digits, out length) && length > 0;
            }
        }

        length = 0;
        return false;
    }
}
