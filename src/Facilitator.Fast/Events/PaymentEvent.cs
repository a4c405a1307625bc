using System.Text.Json;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Events;

public enum PaymentEventKind : byte
{
    Received = 0,
    Verified,
    Settled,
    Failed,
}

/// <summary>
/// A <c>payment:*</c> event. Every one carries <c>paymentId</c>, <c>network</c>, <c>payer</c>, <c>payee</c>,
/// <c>amount</c> and <c>asset</c> (the seed's filters compare <c>network</c> and <c>payee</c>, which its own events
/// mostly lacked), then what is particular to its kind, and the seed's <c>timestamp</c> inside <c>data</c> too.
/// </summary>
internal sealed class PaymentEvent : HubEvent
{
    /// <summary>A message is the answer's sentence; it is cut here so an event stays small whatever produced it.</summary>
    private const int MaxMessageLength = 256;

    private readonly PaymentEventKind _kind;
    private readonly PaymentFacts _payment;
    private readonly FacilitatorOperation _operation;
    private readonly string? _by;
    private readonly TimeSpan _elapsed;
    private readonly string? _transaction;
    private readonly string? _fee;
    private readonly string? _error;
    private readonly string? _message;

    public PaymentEvent(
        PaymentEventKind kind, PaymentFacts payment, FacilitatorOperation operation, long timestampMs,
        string? by = null, TimeSpan elapsed = default, string? transaction = null, string? fee = null, string? error = null, string? message = null)
        : base(EventChannel.Payments, timestampMs)
    {
        _kind = kind;
        _payment = payment;
        _operation = operation;
        _by = by;
        _elapsed = elapsed;
        _transaction = transaction;
        _fee = fee;
        _error = error;
        _message = message is { Length: > MaxMessageLength } ? string.Concat(message.AsSpan(0, MaxMessageLength), "…") : message;
        Payee = payment.Payee.ToLowerInvariant();
    }

    public override bool Relayed => true;

    public override string? Network => _payment.Network;

    public override string? Payee { get; }

    protected override ReadOnlySpan<byte> Type => _kind switch
    {
        PaymentEventKind.Received => "payment:received"u8,
        PaymentEventKind.Verified => "payment:verified"u8,
        PaymentEventKind.Settled => "payment:settled"u8,
        _ => "payment:failed"u8,
    };

    protected override void WriteData(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        var payment = _payment;
        writer.WriteString("paymentId"u8, payment.Id);
        writer.WriteString("network"u8, payment.Network);
        writer.WriteString("payer"u8, payment.Payer);
        writer.WriteString("payee"u8, payment.Payee);
        writer.WriteString("amount"u8, payment.Amount);
        writer.WriteString("amountAtomic"u8, payment.AmountAtomic);
        writer.WriteString("asset"u8, payment.Asset);
        if (payment.Known is { } known)
        {
            writer.WriteString("symbol"u8, known.Symbol);
        }

        switch (_kind)
        {
            case PaymentEventKind.Received:
                writer.WriteString("operation"u8, FacilitatorOperations.Name(_operation));
                break;
            case PaymentEventKind.Verified:
                writer.WriteNumber("verificationTime"u8, Milliseconds(_elapsed));
                writer.WriteString("verifiedBy"u8, _by);
                break;
            case PaymentEventKind.Settled:
                writer.WriteString("transaction"u8, _transaction);
                writer.WriteString("fee"u8, _fee);
                writer.WriteNumber("settlementTime"u8, Milliseconds(_elapsed));
                writer.WriteString("settledBy"u8, _by);
                break;
            default:
                writer.WriteString("operation"u8, FacilitatorOperations.Name(_operation));
                writer.WriteString("error"u8, _error);
                if (_message is not null)
                {
                    writer.WriteString("message"u8, _message);
                }

                if (_by is not null)
                {
                    writer.WriteString("judgedBy"u8, _by);
                }

                break;
        }

        writer.WriteNumber("timestamp"u8, TimestampMs);
        writer.WriteEndObject();
    }

    private static double Milliseconds(TimeSpan elapsed) => Math.Round(elapsed.TotalMilliseconds, 3);
}
