namespace Facilitator.Fast.State;

/// <summary>
/// An upstream's answer kept for repeats: the digest of the request it answered (only that very request gets it), its
/// status, content type, bytes and <c>EXTENSION-RESPONSES</c>.
/// </summary>
public sealed record RecordedAnswer(Sha256Hash RequestDigest, int StatusCode, string? ContentType, byte[] Body, string? ExtensionResponses);

/// <summary>What a payment identifier is bound to: the authorization it first came with (its fingerprint), and an answer once known.</summary>
public sealed record IdentifierBinding(Sha256Hash Fingerprint, RecordedAnswer? Answer);

/// <summary>
/// Bindings of <c>payment-identifier</c> ids to the one request each may name, shared by every instance where state is
/// shared: the first request with an id binds it; a later one with the same id is the same request or a conflict.
/// </summary>
public interface IPaymentIdentifierStore
{
    /// <summary>
    /// Binds <paramref name="key"/> to <paramref name="fingerprint"/> for <paramref name="retention"/> unless it is bound
    /// already, and returns the binding it holds now; null when the store cannot be reached or has no room.
    /// </summary>
    ValueTask<IdentifierBinding?> BindAsync(Sha256Hash key, Sha256Hash fingerprint, TimeSpan retention);

    /// <summary>Keeps <paramref name="answer"/> with the binding, if <paramref name="key"/> is still bound to <paramref name="fingerprint"/>.</summary>
    ValueTask RecordAsync(Sha256Hash key, Sha256Hash fingerprint, RecordedAnswer answer);
}
