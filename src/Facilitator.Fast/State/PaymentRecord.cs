namespace Facilitator.Fast.State;

/// <summary>
/// One <c>/v1</c> payment: one EIP-3009 authorization, verified once, settled at most once. Immutable; a change is a new
/// record written through the store's atomic transition.
/// </summary>
/// <param name="Id">Derived from the authorization (<see cref="Protocol.PaymentId"/>).</param>
/// <param name="Fingerprint">What was signed (payee, value, validity, nonce, signature): a different authorization reusing the nonce has another.</param>
/// <param name="Amount">Token units, e.g. <c>"1.5"</c>.</param>
/// <param name="AmountAtomic">Atomic units, e.g. <c>"1500000"</c>.</param>
/// <param name="Fee">The fee in token units.</param>
/// <param name="VerifiedBy">The upstream whose verify accepted it.</param>
/// <param name="SettledBy">The upstream that settled it, or holds its pending settlement.</param>
/// <param name="VerifiedAtMs">Unix milliseconds.</param>
/// <param name="SettledAtMs">Unix milliseconds, once settled.</param>
/// <param name="ValidBefore">The authorization's <c>validBefore</c>, unix seconds.</param>
/// <param name="Request">The x402 request that settles it; dropped once the payment is final.</param>
public sealed record PaymentRecord(
    Guid Id,
    PaymentStatus Status,
    Sha256Hash Fingerprint,
    string Payer,
    string Payee,
    string Amount,
    string AmountAtomic,
    string Asset,
    string? Symbol,
    int Decimals,
    string Network,
    string Fee,
    string? VerifiedBy,
    string? SettledBy,
    string? Transaction,
    long VerifiedAtMs,
    long? SettledAtMs,
    string? Error,
    long ValidBefore,
    byte[]? Request)
{
    /// <summary>What a record costs in memory besides its request and strings: object, dictionary slot, queue items.</summary>
    public const int OverheadBytes = 512;

    /// <summary>The bytes this record is counted as taking in the in-memory store.</summary>
    public long CountedBytes =>
        OverheadBytes + (Request?.Length ?? 0)
        + 2L * (Payer.Length + Payee.Length + Amount.Length + AmountAtomic.Length + Asset.Length + (Symbol?.Length ?? 0) + Network.Length + Fee.Length
            + (VerifiedBy?.Length ?? 0) + (SettledBy?.Length ?? 0) + (Transaction?.Length ?? 0) + (Error?.Length ?? 0));

    /// <summary>Neither settled, failed nor expired: the store never drops it, and it counts as a pending settlement.</summary>
    public bool IsOpen => !PaymentStatuses.IsFinal(Status);
}
