using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// The outcome of one HTTP attempt on one upstream. When <see cref="Failure"/> is <see cref="AttemptFailure.None"/>
/// the answer's bytes are in <see cref="Body"/>, which the receiver must dispose.
/// </summary>
/// <param name="Transaction">A settle the upstream reported pending: the transaction it broadcast, when it named one.</param>
/// <param name="ExtensionResponses">The answer's <c>EXTENSION-RESPONSES</c> header, passed on to the caller.</param>
/// <param name="RetryAfter">A 429's or 503's <c>Retry-After</c> header.</param>
/// <param name="CredentialsSent">
/// The request carried every credential configured for it (none deliberately left off, as on an anonymous caller's
/// discovery query or CDP's public discovery): only then does its outcome say whether the credentials are accepted.
/// </param>
public readonly record struct AttemptResult(
    AttemptFailure Failure,
    int StatusCode,
    string? ContentType,
    PooledBytes? Body,
    string? Detail,
    long ElapsedMicroseconds,
    string? Transaction = null,
    string? ExtensionResponses = null,
    string? RetryAfter = null,
    bool CredentialsSent = false)
{
    public bool Answered => Failure == AttemptFailure.None;

    /// <summary>"timed out after 5000 ms", "server error (HTTP 502)": how the attempt failed, for messages and logs.</summary>
    public string Describe() =>
        Detail is null ? Failure.Describe() : $"{Failure.Describe()} ({Detail})";
}
