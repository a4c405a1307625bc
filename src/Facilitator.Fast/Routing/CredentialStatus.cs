namespace Facilitator.Fast.Routing;

/// <summary>What an upstream last said of the gateway's credentials on one operation.</summary>
public enum CredentialStatus
{
    /// <summary>No request with credentials has been answered yet.</summary>
    Unverified = 0,

    /// <summary>The last request that carried them was answered.</summary>
    Accepted = 1,

    /// <summary>The last request that carried them was answered 401 or 403: the gateway is misconfigured.</summary>
    Refused = 2,
}

/// <summary>How one attempt's outcome changed what is known of an upstream's credentials; logged only when it did.</summary>
public enum CredentialTransition
{
    None = 0,

    /// <summary>Refused where they were not (or not known to be) refused before.</summary>
    Refused,

    /// <summary>Accepted again after a refusal.</summary>
    Accepted,
}
