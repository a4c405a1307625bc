namespace Facilitator.Fast.State;

/// <summary>A set of <see cref="PaymentStatus"/> values.</summary>
public readonly record struct PaymentStatusSet(int Bits)
{
    public static PaymentStatusSet Of(params ReadOnlySpan<PaymentStatus> statuses)
    {
        var bits = 0;
        foreach (var status in statuses)
        {
            bits |= 1 << (int)status;
        }

        return new PaymentStatusSet(bits);
    }

    public bool Contains(PaymentStatus status) => (Bits & (1 << (int)status)) != 0;

    /// <summary>The names joined as <c>,verified,settling,</c>, for a store's script to look a name up.</summary>
    public string ToDelimitedNames()
    {
        var text = ",";
        for (var status = PaymentStatus.Verified; status <= PaymentStatus.Expired; status++)
        {
            if (Contains(status))
            {
                text += PaymentStatuses.Name(status) + ",";
            }
        }

        return text;
    }
}
