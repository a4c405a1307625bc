using System.Buffers;
using System.Text.Json;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// Writes the gateway's own x402 answers in the official shapes: <c>{isValid:false, invalidReason, invalidMessage, payer}</c>
/// for verify and <c>{success:false, errorReason, errorMessage, transaction:"", network, payer}</c> for settle.
/// </summary>
/// <remarks>
/// Both official clients turn a non-200 answer into a typed <c>VerifyError</c>/<c>SettleError</c> only when the body
/// carries <c>isValid</c>/<c>success</c>, and the v2 client rejects a settle answer without <c>transaction</c> and
/// <c>network</c>; these shapes are what lets the caller's middleware surface the reason instead of crashing.
/// </remarks>
public static class X402ResponseWriter
{
    private static readonly ArrayBufferWriter<byte> s_detached = new(1);

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// The failure shape of <paramref name="operation"/>: verify's, or settle's for settle. Network and payer are
    /// slices of the request <paramref name="body"/> (default when unknown), copied as they are without making a string.
    /// </summary>
    /// <param name="transaction">Settle: the transaction an upstream broadcast for a pending settlement, else empty.</param>
    public static void WriteFailure(
        IBufferWriter<byte> output, FacilitatorOperation operation, string reason, string message, Utf8Slice network, Utf8Slice payer, ReadOnlySpan<byte> body,
        string? transaction = null)
    {
        Span<byte> networkBytes = stackalloc byte[128];
        Span<byte> payerBytes = stackalloc byte[128];
        var hasNetwork = network.TryCopyUnescaped(body, networkBytes, out var networkLength);
        var hasPayer = payer.TryCopyUnescaped(body, payerBytes, out var payerLength);

        var writer = Rent(output);
        writer.WriteStartObject();
        if (operation == FacilitatorOperation.Settle)
        {
            writer.WriteBoolean("success"u8, false);
            writer.WriteString("errorReason"u8, reason);
            writer.WriteString("errorMessage"u8, message);
            writer.WriteString("transaction"u8, transaction ?? "");
            writer.WriteString("network"u8, hasNetwork ? networkBytes[..networkLength] : default);
        }
        else
        {
            writer.WriteBoolean("isValid"u8, false);
            writer.WriteString("invalidReason"u8, reason);
            writer.WriteString("invalidMessage"u8, message);
        }

        if (hasPayer)
        {
            writer.WriteString("payer"u8, payerBytes[..payerLength]);
        }

        writer.WriteEndObject();
        Complete(writer);
    }

    private static void Complete(Utf8JsonWriter writer)
    {
        writer.Flush();
        writer.Reset(s_detached);
    }

    private static Utf8JsonWriter Rent(IBufferWriter<byte> output)
    {
        var writer = t_writer;
        if (writer is null)
        {
            writer = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
            t_writer = writer;
        }
        else
        {
            writer.Reset(output);
        }

        return writer;
    }
}
