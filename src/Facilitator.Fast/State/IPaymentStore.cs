namespace Facilitator.Fast.State;

/// <summary>How <see cref="IPaymentStore.CreateAsync"/> ended.</summary>
public enum PaymentCreateOutcome : byte
{
    Created,

    /// <summary>A record with the id exists (of this authorization, or of another that reuses its nonce): it is returned.</summary>
    Existing,

    /// <summary>The in-memory store holds only open payments up to its bound: nothing was written.</summary>
    Full,
}

public readonly record struct PaymentCreateResult(PaymentCreateOutcome Outcome, PaymentRecord? Record);

/// <summary>The outcome of a transition: applied, or refused because of the status it found (<see cref="Current"/>).</summary>
public readonly record struct PaymentTransition(bool Applied, PaymentRecord? Current);

/// <summary>The payment store cannot be reached: nothing was read or written; the caller answers 503.</summary>
public sealed class PaymentStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The <c>/v1</c> payment records, one per authorization, with a queue of open payments due for attention (automatic
/// settlement, expiry): in memory by default, in Redis when state is shared. Every status change is a compare-and-set
/// on the status and the authorization, so instances racing on one payment cannot move it backwards.
/// </summary>
public interface IPaymentStore
{
    /// <summary>
    /// Writes <paramref name="record"/> unless a record with its id exists — returned instead, whether it is the same
    /// authorization or another reusing the nonce — except a failed or expired record of another authorization, which
    /// is replaced. A created payment is due for attention after <paramref name="dueIn"/> (by the store's clock).
    /// </summary>
    ValueTask<PaymentCreateResult> CreateAsync(PaymentRecord record, TimeSpan dueIn);

    ValueTask<PaymentRecord?> GetAsync(Guid id);

    /// <summary>
    /// Writes <paramref name="next"/> if the stored record is of the same authorization (its fingerprint) and its status
    /// is one of <paramref name="allowedBefore"/>: a caller holding an older read never writes over another authorization
    /// that took the id meanwhile.
    /// </summary>
    ValueTask<PaymentTransition> TransitionAsync(PaymentStatusSet allowedBefore, PaymentRecord next);

    /// <summary>
    /// Takes up to <paramref name="limit"/> payments due now, moving each one's due time <paramref name="lease"/> later,
    /// so no other instance takes it meanwhile; one that is not completed is due again after the lease.
    /// </summary>
    ValueTask<IReadOnlyList<Guid>> TakeDueAsync(int limit, TimeSpan lease);

    /// <summary>The payment needs no more attention (it is final, or gone).</summary>
    ValueTask CompleteAsync(Guid id);

    /// <summary>Open payments (verified or settling), as the due queue counts them.</summary>
    ValueTask<long> CountOpenAsync();
}
