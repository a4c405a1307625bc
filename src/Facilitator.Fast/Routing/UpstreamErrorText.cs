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

    /// <summary>Reads the start of a refusal's body (what could be read of it).</summary>
    public static async ValueTask<byte[]> ReadRefusalBytesAsync(HttpResponseMessage response, CancellationToken cancellationToken)
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

        return buffer.AsSpan(0, length).ToArray();
    }

    /// <summary><c>"HTTP 401: message"</c> from a refusal's body; the status alone when it says nothing readable.</summary>
    public static string Describe(ReadOnlySpan<byte> refusal, int status)
    {
        var message = Message(refusal);
        return message.Length == 0 ? $"HTTP {status}" : $"HTTP {status}: {message}";
    }

    /// <summary>
    /// <paramref name="text"/> with <paramref name="secret"/> replaced wherever it appears as it was sent or encoded as an
    /// upstream might echo it (base64, base64url, URL-encoded), letter case ignored.
    /// </summary>
    public static string RedactValue(string text, string secret)
    {
        if (secret.Length < 4)
        {
            return text;
        }

        var bytes = System.Text.Encoding.UTF8.GetBytes(secret);
        var base64 = Convert.ToBase64String(bytes);
        foreach (var form in new[] { secret, Uri.EscapeDataString(secret), base64, base64.TrimEnd('=').Replace('+', '-').Replace('/', '_'), base64.TrimEnd('=') })
        {
            text = text.Replace(form, "[redacted]", StringComparison.OrdinalIgnoreCase);
        }

        return RedactFragments(text, secret);
    }

    /// <summary>
    /// Replaces every word of <paramref name="text"/> (a run between spaces, quotes, commas, semicolons and line breaks)
    /// of 8 characters or more that is a piece of <paramref name="secret"/>: a token an upstream echoed split across
    /// lines, or one segment of a JWT.
    /// </summary>
    public static string RedactFragments(string text, string secret)
    {
        var builder = new System.Text.StringBuilder(text.Length);
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && !IsSeparator(text[i]))
            {
                continue;
            }

            var word = text.AsSpan(start, i - start);
            var piece = word.Trim(".:=");
            builder.Append(piece.Length >= 8 && secret.AsSpan().Contains(piece, StringComparison.Ordinal) ? "[redacted]" : word);
            if (i < text.Length)
            {
                builder.Append(text[i]);
            }

            start = i + 1;
        }

        return builder.ToString();

        static bool IsSeparator(char c) => char.IsWhiteSpace(c) || c is '"' or '\'' or ',' or ';' or '(' or ')' or '[' or ']' or '{' or '}';
    }

    /// <summary>Replaces what looks like a JWT (<c>eyJ…</c>) or follows <c>Bearer</c> (and its spaces) with <c>[redacted]</c>.</summary>
    public static string Redact(string text)
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
        if (bearer >= 0)
        {
            bearer += 7;
            while (bearer < text.Length && text[bearer] is ' ' or '\t')
            {
                bearer++;
            }

            bearer = bearer >= text.Length || text.AsSpan(bearer).StartsWith("[redacted]") ? -1 : bearer;
        }

        return jwt < 0 ? bearer : bearer < 0 ? jwt : Math.Min(jwt, bearer);
    }
}
