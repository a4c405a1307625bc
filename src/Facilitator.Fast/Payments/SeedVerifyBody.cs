namespace Facilitator.Fast.Payments;

/// <summary>
/// The fields of a seed-shape <c>/v1/verify</c> body <c>{proof, requirements}</c> as read, before their meaning is
/// checked: a field is null when it was absent or had the wrong JSON type (the reader has said which).
/// </summary>
internal sealed class SeedVerifyBody
{
    public string? ProofScheme { get; set; }

    public string? ProofNetwork { get; set; }

    public string? Signature { get; set; }

    public string? Amount { get; set; }

    public string? Asset { get; set; }

    public string? From { get; set; }

    public string? To { get; set; }

    public string? Nonce { get; set; }

    /// <summary><c>proof.payload.deadline</c>: unix seconds, the authorization's <c>validBefore</c>.</summary>
    public long? Deadline { get; set; }

    public long? ValidAfter { get; set; }

    public long? ValidBefore { get; set; }

    public string? RequiredScheme { get; set; }

    public string? RequiredNetwork { get; set; }

    public string? RequiredAmount { get; set; }

    public string? RequiredAsset { get; set; }

    public string? PayTo { get; set; }

    public long? MaxAge { get; set; }

    public string? Description { get; set; }

    public string? Resource { get; set; }
}
