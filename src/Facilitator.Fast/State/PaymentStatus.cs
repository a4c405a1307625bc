namespace Facilitator.Fast.State;

/// <summary>Where a <c>/v1</c> payment is in its life; <c>Payments.PaymentTransitions</c> says which status may follow which.</summary>
public enum PaymentStatus : byte
{
    /// <summary>Verified by local verification and an upstream, not yet sent to settle.</summary>
    Verified = 1,

    /// <summary>Sent to settle (or about to be); pending at <see cref="PaymentRecord.SettledBy"/> once an upstream has it.</summary>
    Settling,

    /// <summary>An upstream settled it: <see cref="PaymentRecord.Transaction"/> is the transfer.</summary>
    Settled,

    /// <summary>An upstream refused to settle it, definitely; <see cref="PaymentRecord.Error"/> says why.</summary>
    Failed,

    /// <summary>Its <c>validBefore</c> passed before it was sent to settle: it can no longer be settled.</summary>
    Expired,
}

/// <summary>The wire names of <see cref="PaymentStatus"/> (the seed's lower-case words).</summary>
public static class PaymentStatuses
{
    public static string Name(PaymentStatus status) => status switch
    {
        PaymentStatus.Verified => "verified",
        PaymentStatus.Settling => "settling",
        PaymentStatus.Settled => "settled",
        PaymentStatus.Failed => "failed",
        PaymentStatus.Expired => "expired",
        _ => "unknown",
    };

    public static bool TryParse(string? name, out PaymentStatus status)
    {
        status = name switch
        {
            "verified" => PaymentStatus.Verified,
            "settling" => PaymentStatus.Settling,
            "settled" => PaymentStatus.Settled,
            "failed" => PaymentStatus.Failed,
            "expired" => PaymentStatus.Expired,
            _ => 0,
        };
        return status != 0;
    }

    /// <summary>Settled, failed or expired: nothing more will happen to it.</summary>
    public static bool IsFinal(PaymentStatus status) => status is PaymentStatus.Settled or PaymentStatus.Failed or PaymentStatus.Expired;
}
