namespace Facilitator.Fast.Load;

/// <summary>Takes the payment events a subscriber reads: the event's type (<c>payment:verified</c>, ...) and payment id.</summary>
internal interface IPaymentEventSink
{
    /// <returns>Whether the event is one of the run's (counted as delivered).</returns>
    bool Delivered(ReadOnlySpan<byte> type, Guid paymentId);
}
