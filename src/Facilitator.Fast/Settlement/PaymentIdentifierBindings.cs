using System.Buffers.Text;
using System.Text;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>What a request carrying a payment identifier may do.</summary>
public enum IdentifierDecision : byte
{
    /// <summary>The id is new or names this authorization, with no answer to give again (or no binding could be kept): ask upstream.</summary>
    Proceed,

    /// <summary>The id names this very request, whose verify answer is recorded and still true: give it again.</summary>
    Replay,

    /// <summary>The id was first used by this payer with another authorization: 409.</summary>
    Conflict,
}

/// <summary>
/// The <c>payment-identifier</c> extension as a facilitator honours it: the first request carrying an id binds it, per
/// operation and payer, to the authorization it carries; the same authorization again is served (a verify from the
/// recorded answer when the bytes are identical and nothing has changed, a settle by the ledger as any repeat is),
/// another authorization under the same id is a conflict — on every instance that shares state.
/// </summary>
/// <remarks>
/// <para>Bound to the authorization's fingerprint, not the request's bytes: the same payment sent re-serialised (another
/// SDK, another resource-server instance) is the same payment, and after it settled must get the ledger's success, never
/// a conflict. The payer is part of the key, so nobody can take another payer's id.</para>
/// <para>A verify answer is given again only when local verification still judges the payment valid (its validity
/// window, its signature) and the ledger holds nothing for its nonce — a payment settled, pending or in flight since
/// must be asked again, lest "valid" be replayed for a spent authorization. A request local verification rejects is
/// answered before it binds anything.</para>
/// </remarks>
public sealed class PaymentIdentifierBindings(IPaymentIdentifierStore store, SettlementCoordinator settlements, TimeProvider time)
{
    /// <summary>The longest a binding is kept: ids are for retries, which come within minutes.</summary>
    public static readonly TimeSpan LongestRetention = TimeSpan.FromHours(1);

    /// <summary>The shortest, for a payment whose <c>validBefore</c> cannot be read.</summary>
    public static readonly TimeSpan ShortestRetention = TimeSpan.FromMinutes(1);

    public readonly record struct Binding(IdentifierDecision Decision, Sha256Hash Key, Sha256Hash Fingerprint, Sha256Hash RequestDigest, RecordedAnswer? Answer);

    public async ValueTask<Binding> BindAsync(
        FacilitatorOperation operation, string id, ReadOnlyMemory<byte> body, PaymentRequestView view, AuthorizationFacts facts, LocalVerdict verdict)
    {
        if (!SettlementIdentity.TryCreate(body.Span, view, facts, out var identity))
        {
            return default;
        }

        var key = KeyOf(operation, id, view.Payer.ToString(body.Span));
        var digest = Sha256Hash.Of(body.Span);
        var bound = await store.BindAsync(key, identity.Fingerprint, RetentionFor(identity.ValidBeforeSeconds)).ConfigureAwait(false);
        if (bound is null)
        {
            return new Binding(IdentifierDecision.Proceed, key, identity.Fingerprint, digest, null);
        }

        if (bound.Fingerprint != identity.Fingerprint)
        {
            return new Binding(IdentifierDecision.Conflict, key, identity.Fingerprint, digest, null);
        }

        if (operation == FacilitatorOperation.Verify && bound.Answer is { } answer && answer.RequestDigest == digest
            && verdict.Kind == LocalVerdictKind.Valid && !await settlements.HoldsNonceAsync(body, view, facts).ConfigureAwait(false))
        {
            return new Binding(IdentifierDecision.Replay, key, identity.Fingerprint, digest, answer);
        }

        return new Binding(IdentifierDecision.Proceed, key, identity.Fingerprint, digest, null);
    }

    /// <summary>Keeps an upstream's verify answer for repeats of the identical request.</summary>
    public ValueTask RecordAsync(in Binding binding, int statusCode, string? contentType, byte[] body, string? extensionResponses) =>
        binding.Key.IsEmpty
            ? ValueTask.CompletedTask
            : store.RecordAsync(binding.Key, binding.Fingerprint, new RecordedAnswer(binding.RequestDigest, statusCode, contentType, body, extensionResponses));

    private static Sha256Hash KeyOf(FacilitatorOperation operation, string id, string? payer)
    {
        var text = FacilitatorOperations.Name(operation) + "\n" + (payer ?? "").ToLowerInvariant() + "\n" + id;
        return Sha256Hash.Of(Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Until the authorization's <c>validBefore</c> (when there is one), within the bounds above.</summary>
    private TimeSpan RetentionFor(ulong validBefore)
    {
        if (validBefore == 0)
        {
            return ShortestRetention;
        }

        var remainingMs = (validBefore * 1000.0) - time.GetUtcNow().ToUnixTimeMilliseconds();
        return TimeSpan.FromMilliseconds(Math.Clamp(remainingMs, ShortestRetention.TotalMilliseconds, LongestRetention.TotalMilliseconds));
    }
}
