namespace Facilitator.Fast.State;

/// <summary>Which counters a payment adds to: its network (CAIP-2) and asset (a lower-case EVM address, else as written).</summary>
internal readonly record struct AnalyticsSeries(string Network, string Asset)
{
    /// <summary>The longest network and asset a series may have; longer ones are not counted (no real chain id or token is).</summary>
    public const int MaxNetworkLength = 64;
    public const int MaxAssetLength = 128;

    /// <summary>
    /// Whether <paramref name="text"/> may name a network or an asset: letters, digits and <c>: . _ -</c> only, so a
    /// series is one Redis hash field prefix that cannot be confused with another (the separator is <c>|</c>).
    /// </summary>
    public static bool IsValidPart(ReadOnlySpan<char> text, int maxLength)
    {
        if (text.IsEmpty || text.Length > maxLength)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not (':' or '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() => Network + "|" + Asset;
}

/// <summary>One settled payment as the analytics count it.</summary>
/// <param name="Volume">The amount, in the asset's atomic units.</param>
/// <param name="FeeMicros">The fee the fee schedule gives it, in millionths of the asset's unit (zero for an unknown asset).</param>
/// <param name="SettlementMs">From the settlement's claim to the upstream's answer.</param>
/// <param name="AtMs">When it settled (Unix ms, UTC): decides its hour, day and month.</param>
internal readonly record struct AnalyticsSample(AnalyticsSeries Series, DecimalLimbs Volume, DecimalLimbs FeeMicros, long SettlementMs, long AtMs);
