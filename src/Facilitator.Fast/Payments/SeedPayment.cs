using System.Numerics;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Payments;

/// <summary>
/// What a translated seed-shape payment authorizes, in the forms the payment record keeps: the caller records these
/// instead of re-reading the x402 body.
/// </summary>
/// <param name="Asset">The token, from the known-asset table: network, contract, decimals, EIP-712 domain.</param>
/// <param name="Payer">The authorization's <c>from</c>, EIP-55 checksummed.</param>
/// <param name="Payee">The authorization's <c>to</c> (equal to <c>requirements.payTo</c>), EIP-55 checksummed.</param>
/// <param name="Amount">The signed amount in token units, canonical (<c>"1.5"</c> for <c>"1.50"</c>).</param>
/// <param name="AtomicAmount">The signed amount in atomic units: the authorization's <c>value</c>, which is settled.</param>
/// <param name="RequiredAmount">The required amount in token units, canonical; at most <paramref name="Amount"/>.</param>
/// <param name="RequiredAtomicAmount">The required amount in atomic units.</param>
/// <param name="Nonce">The bytes32 nonce, <c>0x</c> and lower-case hex.</param>
/// <param name="ValidAfter">Unix seconds; 0 when the proof gave none.</param>
/// <param name="ValidBefore">Unix seconds: the proof's <c>deadline</c>.</param>
/// <param name="Signature">The 65-byte signature, <c>0x</c> and lower-case hex.</param>
/// <param name="MaxTimeoutSeconds"><c>requirements.maxAge</c>, or 60.</param>
/// <param name="Resource"><c>requirements.resource</c>, or <see cref="SeedPaymentTranslator.PlaceholderResource"/>.</param>
/// <param name="Description"><c>requirements.description</c>, when given.</param>
internal sealed record SeedPayment(
    KnownAsset Asset,
    string Payer,
    string Payee,
    string Amount,
    BigInteger AtomicAmount,
    string RequiredAmount,
    BigInteger RequiredAtomicAmount,
    string Nonce,
    long ValidAfter,
    long ValidBefore,
    string Signature,
    long MaxTimeoutSeconds,
    string Resource,
    string? Description)
{
    /// <summary>The CAIP-2 network, e.g. <c>eip155:84532</c>.</summary>
    public string Network => Asset.Network;
}
