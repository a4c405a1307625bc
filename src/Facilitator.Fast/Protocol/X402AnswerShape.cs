using System.Text.Json;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// Decides whether an upstream's body is an answer at all: a JSON object, and on success the field the official
/// clients require (<c>isValid</c> for verify, <c>success</c> for settle, <c>kinds</c> for supported). A body that is
/// not counts as a failed attempt, so an HTML error page from a proxy never reaches a caller as if it were an answer.
/// </summary>
public static class X402AnswerShape
{
    public static bool IsAnswer(FacilitatorOperation operation, bool successStatus, ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var required = successStatus ? RequiredField(operation) : default;
            var found = required.IsEmpty;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var matches = !found && reader.ValueTextEquals(required);
                reader.Read();
                if (matches)
                {
                    found = operation == FacilitatorOperation.Supported
                        ? reader.TokenType == JsonTokenType.StartArray
                        : reader.TokenType is JsonTokenType.True or JsonTokenType.False;
                }

                reader.Skip();
            }

            return found && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads a verify or settle answer's verdict: <c>isValid</c>/<c>success</c> and <c>invalidReason</c>/<c>errorReason</c>.
    /// </summary>
    public static bool TryReadVerdict(FacilitatorOperation operation, ReadOnlySpan<byte> body, out bool accepted, out Utf8Slice reason)
    {
        accepted = false;
        reason = default;
        var verdictField = operation == FacilitatorOperation.Settle ? "success"u8 : "isValid"u8;
        var reasonField = operation == FacilitatorOperation.Settle ? "errorReason"u8 : "invalidReason"u8;
        var found = false;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isVerdict = reader.ValueTextEquals(verdictField);
                var isReason = !isVerdict && reader.ValueTextEquals(reasonField);
                reader.Read();
                if (isVerdict && reader.TokenType is JsonTokenType.True or JsonTokenType.False)
                {
                    accepted = reader.TokenType == JsonTokenType.True;
                    found = true;
                }
                else if (isReason)
                {
                    reason = Utf8Slice.Of(ref reader);
                }

                reader.Skip();
            }

            return found;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static ReadOnlySpan<byte> RequiredField(FacilitatorOperation operation) => operation switch
    {
        FacilitatorOperation.Verify => "isValid"u8,
        FacilitatorOperation.Settle => "success"u8,
        FacilitatorOperation.Supported => "kinds"u8,
        _ => default,
    };
}
