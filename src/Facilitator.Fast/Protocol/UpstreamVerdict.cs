using System.Text.Json;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// What an upstream's verify or settle body says, read once whatever its status: the verdict
/// (<c>isValid</c>/<c>success</c>) if it has one, its reason (<c>invalidReason</c>/<c>errorReason</c>, else an API
/// error's <c>errorType</c>/<c>error</c>), and a settle's <c>transaction</c>. Facilitators put these in 200, 4xx and
/// 5xx answers alike; the status alone does not say what happened.
/// </summary>
public readonly record struct UpstreamVerdict(bool IsObject, bool HasVerdict, bool Accepted, string? Reason, string? Transaction)
{
    /// <summary><c>@x402/*</c>'s reason for a settlement whose outcome is not known yet (CDP answers it with HTTP 500, PayAI with 200).</summary>
    public const string SettlementPending = "settlement_pending";

    /// <summary>PayAI's reason (with HTTP 409) for an identical settle that is still in flight there.</summary>
    public const string DuplicateSettlement = "duplicate_settlement";

    /// <summary>Coinbase CDP's 402 about the operator's account (billing), not about the payment.</summary>
    public const string PaymentMethodRequired = "payment_method_required";

    /// <summary>The upstream says the settlement's outcome is not known yet, or that it is still settling it.</summary>
    public bool IsPending => Reason is SettlementPending or DuplicateSettlement;

    /// <summary>The answer is about the operator's account with the upstream, not about the payment.</summary>
    public bool IsAccountError => Reason == PaymentMethodRequired;

    /// <summary>
    /// A refusal whose reason is a reason: a code of the x402 vocabulary (lower-case letters, digits, underscores) other
    /// than those that leave the outcome open. A refusal that carries an exception's text, or no reason, or one of
    /// those, says nothing certain about whether the payment will happen.
    /// </summary>
    public bool IsDefinite => Reason is { Length: > 0 and <= 96 } reason && IsCode(reason) && !OpenOutcomes.Contains(reason);

    /// <summary>Codes that leave a settlement's outcome open: an unexpected error, a confirmation that timed out.</summary>
    private static readonly HashSet<string> OpenOutcomes = new(StringComparer.Ordinal)
    {
        X402Reasons.UnexpectedSettleError,
        X402Reasons.UnexpectedVerifyError,
        "settle_exact_svm_transaction_confirmation_timed_out",
        SettlementPending,
        DuplicateSettlement,
    };

    private static bool IsCode(string reason)
    {
        foreach (var c in reason)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                return false;
            }
        }

        return true;
    }

    public static UpstreamVerdict Read(FacilitatorOperation operation, ReadOnlySpan<byte> body)
    {
        var verdictField = operation == FacilitatorOperation.Settle ? "success"u8 : "isValid"u8;
        var reasonField = operation == FacilitatorOperation.Settle ? "errorReason"u8 : "invalidReason"u8;
        bool? accepted = null;
        string? reason = null;
        string? fallbackReason = null;
        string? transaction = null;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = Field(ref reader, verdictField, reasonField);
                reader.Read();
                switch (field)
                {
                    case 1 when reader.TokenType is JsonTokenType.True or JsonTokenType.False:
                        accepted = reader.TokenType == JsonTokenType.True;
                        break;
                    case 2 when reader.TokenType == JsonTokenType.String:
                        reason = Bounded(reader.GetString());
                        break;
                    case 3 when reader.TokenType == JsonTokenType.String:
                        fallbackReason ??= Bounded(reader.GetString());
                        break;
                    case 4 when reader.TokenType == JsonTokenType.String:
                        transaction = Bounded(reader.GetString());
                        break;
                }

                reader.Skip();
            }

            return new UpstreamVerdict(true, accepted is not null, accepted == true, reason ?? fallbackReason, transaction);
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static int Field(ref Utf8JsonReader reader, ReadOnlySpan<byte> verdictField, ReadOnlySpan<byte> reasonField) =>
        reader.ValueTextEquals(verdictField) ? 1
        : reader.ValueTextEquals(reasonField) ? 2
        : reader.ValueTextEquals("errorType"u8) || reader.ValueTextEquals("error"u8) ? 3
        : reader.ValueTextEquals("transaction"u8) ? 4
        : 0;

    /// <summary>Reasons and hashes are short; anything longer is cut, so an upstream cannot make the gateway hold megabytes.</summary>
    private static string? Bounded(string? value) => value is { Length: > 256 } ? value[..256] : value;
}
