using System.Buffers.Text;
using System.Text;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>What a request carrying a payment identifier may do.</summary>
public enum IdentifierDecision : byte
{
    /// <summary>The id is new, or names this very request and has no answer yet (or the store is unreachable): ask upstream.</summary>
    Proceed,

    /// <summary>The id names this very request, whose answer is recorded: give it again.</summary>
    Replay,

    /// <summary>The id was first used with another request: 409.</summary>
    Conflict,
}

/// <summary>
/// The <c>payment-identifier</c> extension as a facilitator honours it: the first request carrying an id binds it (per
/// operation) to that request's bytes until the authorization expires; the same request again gets the recorded answer,
/// another request with the same id is a conflict, on every instance that shares state.
/// </summary>
/// <remarks>
/// Settle answers are recorded by the settlement ledger (a repeat of the request is its repeat), so for settle the
/// binding only decides conflicts; verify answers are recorded here. A request local verification rejects is answered
/// before it binds anything: it never reached an upstream, and its answer does not depend on the id.
/// </remarks>
public sealed class PaymentIdentifierBindings(IPaymentIdentifierStore store, SettlementPolicy policy, TimeProvider time)
{
    public readonly record struct Binding(IdentifierDecision Decision, Sha256Hash Key, Sha256Hash RequestDigest, RecordedAnswer? Answer);

    public async ValueTask<Binding> BindAsync(FacilitatorOperation operation, string id, ReadOnlyMemory<byte> body, PaymentRequestView view)
    {
        var key = KeyOf(operation, id);
        var digest = Sha256Hash.Of(body.Span);
        var bound = await store.BindAsync(key, digest, RetentionFor(body.Span, view)).ConfigureAwait(false);
        return bound is null ? new Binding(IdentifierDecision.Proceed, key, digest, null)
            : bound.RequestDigest != digest ? new Binding(IdentifierDecision.Conflict, key, digest, null)
            : bound.Answer is { } answer ? new Binding(IdentifierDecision.Replay, key, digest, answer)
            : new Binding(IdentifierDecision.Proceed, key, digest, null);
    }

    /// <summary>Keeps an upstream's verify answer for repeats of the request.</summary>
    public ValueTask RecordAsync(in Binding binding, RecordedAnswer answer) => store.RecordAsync(binding.Key, binding.RequestDigest, answer);

    private static Sha256Hash KeyOf(FacilitatorOperation operation, string id)
    {
        Span<byte> buffer = stackalloc byte[PaymentIdentifier.MaxLength + 16];
        var written = Encoding.ASCII.GetBytes(FacilitatorOperations.Name(operation), buffer);
        buffer[written++] = (byte)'\n';
        written += Encoding.ASCII.GetBytes(id, buffer[written..]);
        return Sha256Hash.Of(buffer[..written]);
    }

    /// <summary>Until the authorization's <c>validBefore</c> (when there is one) and a margin, within the ledger's bounds.</summary>
    private TimeSpan RetentionFor(ReadOnlySpan<byte> body, PaymentRequestView view)
    {
        var slice = view[PaymentField.ValidBefore];
        var raw = slice.IsEscaped ? default : slice.RawIn(body);
        if (raw.IsEmpty || !Utf8Parser.TryParse(raw, out ulong validBefore, out var consumed) || consumed != raw.Length)
        {
            return SettlementPolicy.UndatedRetention;
        }

        var remainingMs = (validBefore * 1000.0) - time.GetUtcNow().ToUnixTimeMilliseconds() + SettlementPolicy.ExpiryMargin.TotalMilliseconds;
        return TimeSpan.FromMilliseconds(Math.Clamp(remainingMs, policy.MinRetention.TotalMilliseconds, policy.MaxRetention.TotalMilliseconds));
    }
}
