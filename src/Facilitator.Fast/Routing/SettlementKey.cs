using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// Identifies one authorization: (network, asset, payer, nonce), the tuple a token contract itself uses to refuse a
/// second use, with hex in lower case so differently cased copies of one payment are one key.
/// </summary>
public static class SettlementKey
{
    /// <summary>How long after <c>validBefore</c> an entry is kept, for clocks that disagree.</summary>
    public static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The key of the payment and until when it matters. A payload without an EIP-3009 authorization (Permit2, other
    /// chains) is keyed by a hash of its <c>paymentPayload</c> bytes and kept for an hour: repeats of it are the same
    /// bytes, and it must not escape the ledger. False only for a body without a payload.
    /// </summary>
    public static bool TryCreate(ReadOnlySpan<byte> body, in PaymentRequestView view, DateTimeOffset now, out string key, out DateTimeOffset expiresAt)
    {
        key = "";
        expiresAt = default;
        var network = view[PaymentField.RequirementsNetwork].ToString(body);
        var asset = view[PaymentField.RequirementsAsset].ToString(body);
        var payer = view[PaymentField.From].ToString(body);
        var nonce = view[PaymentField.Nonce].ToString(body);
        if (string.IsNullOrEmpty(network) || string.IsNullOrEmpty(payer) || string.IsNullOrEmpty(nonce)
            || view[PaymentField.Permit2Authorization].Kind != SliceKind.Absent)
        {
            var (start, length) = view.PaymentPayloadRange;
            if (length <= 0)
            {
                return false;
            }

            key = "payload:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body.Slice(start, length)));
            expiresAt = now.AddHours(1);
            return true;
        }

        key = string.Join('|', network, (asset ?? "").ToLowerInvariant(), payer.ToLowerInvariant(), nonce.ToLowerInvariant());
        var validBefore = view[PaymentField.ValidBefore];
        var seconds = validBefore is { IsString: true, IsEscaped: false } && UInt256.TryParseDecimal(validBefore.RawIn(body), out var value)
            ? value.SaturatedUInt64
            : 0;
        var latest = now.AddDays(7);
        expiresAt = seconds == 0 || seconds > (ulong)latest.ToUnixTimeSeconds()
            ? (seconds == 0 ? now.AddHours(1) : latest)
            : DateTimeOffset.FromUnixTimeSeconds((long)seconds) + ExpiryMargin;
        return true;
    }
}
