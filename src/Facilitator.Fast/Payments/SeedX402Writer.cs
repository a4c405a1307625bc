using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Writes a translated seed payment as the x402 v2 request the official <c>@x402/evm</c> client produces for the same
/// authorization: <c>accepted</c> equal to <c>paymentRequirements</c>, the EIP-712 domain in <c>extra</c>, numbers of
/// the authorization as decimal strings. Hex and addresses are plain ASCII, so the fields local verification reads
/// are never escaped.
/// </summary>
internal static class SeedX402Writer
{
    public static byte[] Write(SeedPayment payment)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("x402Version"u8, 2);
            writer.WriteStartObject("paymentPayload"u8);
            writer.WriteNumber("x402Version"u8, 2);
            writer.WriteStartObject("resource"u8);
            writer.WriteString("url"u8, payment.Resource);
            if (payment.Description is not null)
            {
                writer.WriteString("description"u8, payment.Description);
            }

            writer.WriteEndObject();
            writer.WritePropertyName("accepted"u8);
            WriteRequirements(writer, payment);
            writer.WriteStartObject("payload"u8);
            writer.WriteString("signature"u8, payment.Signature);
            writer.WriteStartObject("authorization"u8);
            writer.WriteString("from"u8, payment.Payer);
            writer.WriteString("to"u8, payment.Payee);
            writer.WriteString("value"u8, payment.AtomicAmount.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("validAfter"u8, payment.ValidAfter.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("validBefore"u8, payment.ValidBefore.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("nonce"u8, payment.Nonce);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WritePropertyName("paymentRequirements"u8);
            WriteRequirements(writer, payment);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The requirements carry the signed value as <c>amount</c>: the exact scheme settles what was signed, and the
    /// official facilitator requires <c>value == amount</c>. The translator has already refused a value below the
    /// seed's required amount.
    /// </summary>
    private static void WriteRequirements(Utf8JsonWriter writer, SeedPayment payment)
    {
        writer.WriteStartObject();
        writer.WriteString("scheme"u8, "exact"u8);
        writer.WriteString("network"u8, payment.Asset.Network);
        writer.WriteString("amount"u8, payment.AtomicAmount.ToString(CultureInfo.InvariantCulture));
        writer.WriteString("asset"u8, payment.Asset.Address);
        writer.WriteString("payTo"u8, payment.Payee);
        writer.WriteNumber("maxTimeoutSeconds"u8, payment.MaxTimeoutSeconds);
        writer.WriteStartObject("extra"u8);
        writer.WriteString("name"u8, payment.Asset.DomainName);
        writer.WriteString("version"u8, payment.Asset.DomainVersion);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
