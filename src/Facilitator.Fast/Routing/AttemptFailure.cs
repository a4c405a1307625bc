namespace Facilitator.Fast.Routing;

/// <summary>Why one attempt on an upstream did not produce an answer. <see cref="None"/> means it did.</summary>
public enum AttemptFailure : byte
{
    None = 0,

    // The upstream provably did not process the request: the request never reached it, or it refused it unread.
    ConnectFailed,
    NameResolution,
    SecureConnection,
    TooManyRequests,
    Refused,

    // The request may have been processed.
    Timeout,
    ServerError,
    InvalidResponse,
    Transport,

    /// <summary>The upstream does not offer the operation (404/405/501 on discovery); not a health failure.</summary>
    NotOffered,
}

/// <summary>Properties of <see cref="AttemptFailure"/> that routing decisions depend on.</summary>
public static class AttemptFailures
{
    /// <summary>True when the upstream certainly did not act on the request, so a settle may go elsewhere.</summary>
    public static bool ProvablyNotProcessed(this AttemptFailure failure) =>
        failure is AttemptFailure.ConnectFailed or AttemptFailure.NameResolution or AttemptFailure.SecureConnection
            or AttemptFailure.TooManyRequests or AttemptFailure.Refused or AttemptFailure.NotOffered;

    public static string Describe(this AttemptFailure failure) => failure switch
    {
        AttemptFailure.ConnectFailed => "connection failed",
        AttemptFailure.NameResolution => "DNS lookup failed",
        AttemptFailure.SecureConnection => "TLS handshake failed",
        AttemptFailure.TooManyRequests => "rate limited (429)",
        AttemptFailure.Refused => "refused the request",
        AttemptFailure.Timeout => "timed out",
        AttemptFailure.ServerError => "server error",
        AttemptFailure.InvalidResponse => "invalid response",
        AttemptFailure.Transport => "connection broke",
        AttemptFailure.NotOffered => "does not offer this operation",
        _ => "answered",
    };
}
