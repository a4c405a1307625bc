using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// Whether an upstream accepts the gateway's credentials, per operation (a key may be allowed to verify and not to
/// settle), from the outcomes of requests that carried them. A refusal is logged once when it starts and once when
/// it ends, not per request; the status API shows it until then. Interlocked, no locks: this is on the request path.
/// </summary>
public sealed class UpstreamCredentialState
{
    private readonly int[] _status = new int[FacilitatorOperations.Count];
    private readonly string?[] _refusals = new string?[FacilitatorOperations.Count];

    /// <summary>Refused when any operation's credentials are; else accepted when any were; else unverified.</summary>
    public CredentialStatus Status
    {
        get
        {
            var status = CredentialStatus.Unverified;
            for (var i = 0; i < _status.Length; i++)
            {
                var current = (CredentialStatus)Volatile.Read(ref _status[i]);
                status = current > status ? current : status;
            }

            return status;
        }
    }

    public CredentialStatus StatusOf(FacilitatorOperation operation) => (CredentialStatus)Volatile.Read(ref _status[(int)operation]);

    /// <summary>The upstream's words for each operation whose credentials it refuses (<c>"settle: HTTP 401: …"</c>); null when none.</summary>
    public string? Refusals()
    {
        List<string>? refusals = null;
        for (var i = 0; i < _status.Length; i++)
        {
            if (Volatile.Read(ref _status[i]) == (int)CredentialStatus.Refused && Volatile.Read(ref _refusals[i]) is { } refusal)
            {
                (refusals ??= []).Add($"{FacilitatorOperations.Name((FacilitatorOperation)i)}: {refusal}");
            }
        }

        return refusals is null ? null : string.Join("; ", refusals);
    }

    /// <summary>Takes in one attempt's outcome; says whether it changed what is known, so that the caller logs it once.</summary>
    public CredentialTransition Observe(FacilitatorOperation operation, in AttemptResult result)
    {
        if (!result.CredentialsSent)
        {
            return CredentialTransition.None;
        }

        var index = (int)operation;
        if (result.Failure == AttemptFailure.CredentialsRefused)
        {
            Volatile.Write(ref _refusals[index], result.Detail);
            return Interlocked.Exchange(ref _status[index], (int)CredentialStatus.Refused) != (int)CredentialStatus.Refused
                ? CredentialTransition.Refused
                : CredentialTransition.None;
        }

        if (result.Answered)
        {
            return Interlocked.Exchange(ref _status[index], (int)CredentialStatus.Accepted) == (int)CredentialStatus.Refused
                ? CredentialTransition.Accepted
                : CredentialTransition.None;
        }

        return CredentialTransition.None;
    }
}
