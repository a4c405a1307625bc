using System.Text.Json;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Api;

/// <summary>
/// Writes a payment as the seed's <c>PaymentResult</c> (<c>success</c> true only once settled, <c>paymentId</c>,
/// <c>status</c>, <c>payer</c>, <c>payee</c>, <c>amount</c>, <c>network</c>, <c>transaction?</c>, <c>settledAt?</c>,
/// <c>error?</c>) with what else the record keeps: asset, atomic amount, fee, who verified and settled it, and when.
/// The stored request is never written.
/// </summary>
internal static class PaymentResultWriter
{
    public static void Write(Utf8JsonWriter writer, PaymentRecord record)
    {
        writer.WriteStartObject();
        writer.WriteBoolean("success"u8, record.Status == PaymentStatus.Settled);
        writer.WriteString("paymentId"u8, PaymentId.Format(record.Id));
        writer.WriteString("status"u8, PaymentStatuses.Name(record.Status));
        writer.WriteString("payer"u8, record.Payer);
        writer.WriteString("payee"u8, record.Payee);
        writer.WriteString("amount"u8, record.Amount);
        writer.WriteString("network"u8, record.Network);
        if (record.Transaction is { } transaction)
        {
            writer.WriteString("transaction"u8, transaction);
        }

        if (record.SettledAtMs is { } settledAt)
        {
            writer.WriteNumber("settledAt"u8, settledAt);
        }

        if (record.Error is { } error)
        {
            writer.WriteString("error"u8, error);
        }

        writer.WriteString("asset"u8, record.Asset);
        if (record.Symbol is { } symbol)
        {
            writer.WriteString("symbol"u8, symbol);
        }

        writer.WriteString("amountAtomic"u8, record.AmountAtomic);
        writer.WriteString("fee"u8, record.Fee);
        writer.WriteNumber("verifiedAt"u8, record.VerifiedAtMs);
        if (record.VerifiedBy is { } verifiedBy)
        {
            writer.WriteString("verifiedBy"u8, verifiedBy);
        }

        if (record.SettledBy is { } settledBy)
        {
            writer.WriteString("settledBy"u8, settledBy);
        }

        writer.WriteNumber("validBefore"u8, record.ValidBefore);
        writer.WriteEndObject();
    }

    /// <summary>An error as a batch item carries it: <c>error</c> (the message) and <c>code</c>.</summary>
    public static void WriteProblem(Utf8JsonWriter writer, PaymentProblem problem)
    {
        writer.WriteString("error"u8, problem.Message);
        writer.WriteString("code"u8, problem.Code);
    }
}
