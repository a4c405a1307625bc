using System.Text.Json;

namespace Facilitator.Fast.Routing;

/// <summary>
/// What an upstream said when it refused or rejected a request, made fit for logs, the status API and a caller's
/// message: printable, bounded, and with anything shaped like a token taken out (an upstream may echo what it was sent).
/// </summary>
internal static class UpstreamErrorText
{
    private const int Limit = 120;

    /// <summary>A refusal's body is read up to this many bytes; its message is near the start.</summary>
    private const int MaxRefusalBytes = 4096;

    /// <summary>The start of an upstream's answer, printable and bounded.</summary>
    public static string Snippet(ReadOnlySpan<byte> body)
    {
        Span<char> text = stackalloc char[Limit];
        var length = 0;
        foreach (var b in body)
        {
            if (length == Limit)
            {
                break;
            }

            text[length++] = b is >= 0x20 and < 0x7F ? (char)b : ' ';
        }

        var snippet = text[..length].Trim().ToString();
        return Redact(body.Length > Limit ? snippet + "…" : snippet);
    }

    /// <summary>
    /// The message of an error answer: CDP's <c>errorMessage</c> (with its <c>errorType</c>), or a <c>message</c> or
    /// <c>error</c> string, else the start of the body; empty when there is no body.
    /// </summary>
    public static string Message(ReadOnlySpan<byte> body)
    {
        string? type = null, message = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString();
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        reader.Skip();
                        continue;
                    }

                    switch (name)
                    {
                        case "errorType":
                            type = reader.GetString();
                            break;
                        case "errorMessage" or "message" or "error" when message is null:
                            message = reader.GetString();
                            break;
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON, or cut: the body's start is the message.
        }

        if (message is null && type is null)
        {
            return Snippet(body);
        }

        var text = type is null ? message! : message is null ? type : $"{type}: {message}";
        return Snippet(System.Text.Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Reads the start of a refusal's body and returns <c>"HTTP 401: message"</c>; the status alone when it cannot be read.</summary>
    public static async ValueTask<string> ReadRefusalAsync(HttpResponseMessage response, int status, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRefusalBytes];
        var length = 0;
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                int read;
                while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    length += read;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            // What was read is enough; the refusal itself is what matters.
        }

        var message = Message(buffer.AsSpan(0, length));
        return message.Length == 0 ? $"HTTP {status}" : $"HTTP {status}: {message}";
    }

    /// <summary>Replaces what looks like a JWT (<c>eyJ…</c>) or follows <c>Bearer</c> with <c>[redacted]</c>.</summary>
    private static string Redact(string text)
    {
        const string Redacted = "[redacted]";
        var from = 0;
        while (NextSecret(text, from) is var at and >= 0)
        {
            var end = at;
            while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] is not ('"' or ',' or ';'))
            {
                end++;
            }

            text = string.Concat(text.AsSpan(0, at), Redacted, text.AsSpan(end));
            from = at + Redacted.Length;
        }

        return text;
    }

    private static int NextSecret(string text, int from)
    {
        var jwt = text.IndexOf("eyJ", from, StringComparison.Ordinal);
        var bearer = text.IndexOf("Bearer ", from, StringComparison.OrdinalIgnoreCase);
        bearer = bearer < 0 || bearer + 7 >= text.Length ? -1 : bearer + 7;
        return jwt < 0 ? bearer : bearer < 0 ? jwt : Math.Min(jwt, bearer);
    }
}
