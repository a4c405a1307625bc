using System.Globalization;
using System.Numerics;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Payments;

/// <summary>
/// What every payment event says about its payment, whichever API it came through: the id <c>/v1</c> gives the same
/// authorization (<see cref="PaymentId"/>: chain, token, payer, nonce), the CAIP-2 network, payer, payee, the amount in
/// token units (atomic units when the asset's decimals are unknown) and the asset.
/// </summary>
public sealed class PaymentFacts
{
    private PaymentFacts(Guid id, string network, string payer, string payee, string asset, BigInteger atomic, KnownAsset? known)
    {
        Id = id;
        Network = network;
        Payer = payer;
        Payee = payee;
        Asset = asset;
        Atomic = atomic;
        Known = known;
        AmountAtomic = atomic.ToString(CultureInfo.InvariantCulture);
        Amount = known is null ? AmountAtomic : TokenAmount.Format(atomic, known.Decimals);
    }

    public Guid Id { get; }

    /// <summary>CAIP-2 (<c>eip155:84532</c>), also for a v1 request that named <c>base-sepolia</c>.</summary>
    public string Network { get; }

    public string Payer { get; }

    /// <summary>The requirements' <c>payTo</c>: who is paid.</summary>
    public string Payee { get; }

    public string Asset { get; }

    /// <summary>Token units where the asset is in the known-asset table, else atomic units.</summary>
    public string Amount { get; }

    public string AmountAtomic { get; }

    public BigInteger Atomic { get; }

    /// <summary>The asset's entry in the known-asset table, or null when its decimals are unknown.</summary>
    public KnownAsset? Known { get; }

    /// <summary>
    /// The facts of an x402 request that carries an EIP-3009 authorization on an EVM network; null for anything else
    /// (Permit2, other chains, a malformed authorization), which produces no payment events.
    /// </summary>
    public static PaymentFacts? TryRead(ReadOnlySpan<byte> request, in PaymentRequestView view)
    {
        if (view[PaymentField.Permit2Authorization].Kind != SliceKind.Absent)
        {
            return null;
        }

        Span<byte> text = stackalloc byte[80];
        if (!view.Network.TryCopyUnescaped(request, text, out var length)
            || !(EvmNetworks.TryGetCaip2ChainId(text[..length], out var chainId) || EvmNetworks.TryGetV1ChainId(text[..length], out chainId)))
        {
            return null;
        }

        var network = KnownAssets.Caip2Of(text[..length]);
        var payee = view[PaymentField.RequirementsPayTo].IsString ? PaymentField.RequirementsPayTo : PaymentField.To;
        if (!TryAddress(request, view[PaymentField.From], out var from)
            || !TryAddress(request, view[payee], out _)
            || !TryAddress(request, view[PaymentField.RequirementsAsset], out var asset)
            || !view[PaymentField.Nonce].TryCopyUnescaped(request, text, out length) || !Bytes32.TryParse(text[..length], out var nonce)
            || view[PaymentField.Value].ToString(request) is not { } value || !TokenAmount.TryParseAtomic(value, out var atomic))
        {
            return null;
        }

        var assetText = view[PaymentField.RequirementsAsset].ToString(request) ?? "";
        return new PaymentFacts(
            PaymentId.Derive(chainId, asset, from, nonce),
            network,
            view.Payer.ToString(request) ?? "",
            view[payee].ToString(request) ?? "",
            assetText,
            atomic,
            KnownAssets.Find(network, assetText));
    }

    /// <summary>The facts of a stored <c>/v1</c> payment.</summary>
    public static PaymentFacts From(PaymentRecord record)
    {
        TokenAmount.TryParseAtomic(record.AmountAtomic, out var atomic);
        return new PaymentFacts(record.Id, record.Network, record.Payer, record.Payee, record.Asset, atomic, KnownAssets.Find(record.Network, record.Asset));
    }

    private static bool TryAddress(ReadOnlySpan<byte> request, Utf8Slice slice, out EvmAddress address)
    {
        address = default;
        Span<byte> text = stackalloc byte[48];
        return slice.IsString && slice.TryCopyUnescaped(request, text, out var length) && EvmAddress.TryParse(text[..length], out address);
    }
}
