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

    /// <summary>
    /// The upstream answered 4xx without a verdict: it could not read the request, or does not serve what it asks for
    /// (a plain-text 400 from a parser, a discovery query it rejects, a network it does not know). It says something
    /// about the request, not about the upstream: never a health failure, and nothing was processed.
    /// </summary>
    Rejected,

    /// <summary>
    /// Settle only: the upstream says the settlement's outcome is not known yet (CDP's HTTP 500 and PayAI's HTTP 200
    /// <c>settlement_pending</c>, PayAI's 409 <c>duplicate_settlement</c> while it is still settling the same payload).
    /// It may have been processed; the upstream works as it should.
    /// </summary>
    Pending,

    /// <summary>
    /// Settle only: a 4xx without a verdict that does not say the request was unreadable (409 "already in progress",
    /// 402 from an account, ...). Not a health failure, but nothing proves the settle was not processed: pending.
    /// </summary>
    Unconfirmed,

    /// <summary>
    /// 401 or 403 to a request that carried every credential configured for it: the upstream refuses the gateway's
    /// credentials (a wrong key, a clock off, a JWT for another URL). About the gateway's configuration, never about the
    /// payment: it is never an answer, the request fails over, and it counts against health. Unread, so provably not
    /// processed.
    /// </summary>
    CredentialsRefused,
}

/// <summary>Properties of <see cref="AttemptFailure"/> that routing decisions depend on.</summary>
public static class AttemptFailures
{
    /// <summary>True when the upstream certainly did not act on the request, so a settle may go elsewhere.</summary>
    public static bool ProvablyNotProcessed(this AttemptFailure failure) =>
        failure is AttemptFailure.ConnectFailed or AttemptFailure.NameResolution or AttemptFailure.SecureConnection
            or AttemptFailure.TooManyRequests or AttemptFailure.Refused or AttemptFailure.NotOffered or AttemptFailure.Rejected
            or AttemptFailure.CredentialsRefused;

    /// <summary>
    /// True when the failure says something about the upstream (unreachable, slow, broken, refusing us): only those
    /// count against its health. What a caller's request provokes — a rejection of the request, a rate limit the
    /// upstream applies to the gateway's traffic — must not let two requests take an upstream out for everyone.
    /// </summary>
    public static bool CountsAgainstHealth(this AttemptFailure failure) =>
        failure is not (AttemptFailure.None or AttemptFailure.NotOffered or AttemptFailure.Rejected or AttemptFailure.Unconfirmed
            or AttemptFailure.Pending or AttemptFailure.TooManyRequests);

    /// <summary>
    /// A failure of the answer rather than of reaching the upstream: what a request's content could provoke, so on the
    /// request path it counts against health only when another upstream answered the same request properly.
    /// </summary>
    public static bool IsAnswerFailure(this AttemptFailure failure) =>
        failure is AttemptFailure.ServerError or AttemptFailure.InvalidResponse or AttemptFailure.Timeout or AttemptFailure.Transport;

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
        AttemptFailure.Rejected => "rejected the request",
        AttemptFailure.Unconfirmed => "answered without a verdict",
        AttemptFailure.Pending => "settlement pending",
        AttemptFailure.CredentialsRefused => "credentials refused",
        _ => "answered",
    };
}
