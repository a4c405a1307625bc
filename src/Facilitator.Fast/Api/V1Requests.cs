using System.Text.Json;

namespace Facilitator.Fast.Api;

/// <summary>Reads the small <c>/v1</c> request bodies: one id, a list of ids, a list of payment objects (as raw slices).</summary>
internal static class V1Requests
{
    public const int MaxBatch = 100;

    /// <summary>The string member <paramref name="name"/> of a top-level object; null if absent, not a string, or the body is not an object.</summary>
    public static bool TryReadString(ReadOnlySpan<byte> body, ReadOnlySpan<byte> name, out string? value, out string? problem)
    {
        value = null;
        problem = null;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "The request body must be a JSON object.";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals(name);
                reader.Read();
                if (match)
                {
                    if (reader.TokenType != JsonTokenType.String || value is not null)
                    {
                        problem = "must be a single string.";
                        return false;
                    }

                    value = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            EnsureEnd(ref reader);
            return true;
        }
        catch (JsonException)
        {
            problem = "The request body is not valid JSON.";
            return false;
        }
    }

    /// <summary>
    /// The elements of the array member <paramref name="name"/>, each as the raw bytes of its value (up to
    /// <see cref="MaxBatch"/> + 1 of them, so an over-long list is seen without reading it all into memory).
    /// </summary>
    public static bool TryReadArray(ReadOnlySpan<byte> body, ReadOnlySpan<byte> name, out List<(int Start, int Length)>? items, out string? problem)
    {
        items = null;
        problem = null;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "The request body must be a JSON object.";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals(name);
                reader.Read();
                if (!match)
                {
                    reader.Skip();
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartArray || items is not null)
                {
                    problem = "must be a single array.";
                    return false;
                }

                items = [];
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    if (items.Count <= MaxBatch)
                    {
                        items.Add((start, (int)reader.BytesConsumed - start));
                    }
                }
            }

            EnsureEnd(ref reader);
            return true;
        }
        catch (JsonException)
        {
            problem = "The request body is not valid JSON.";
            return false;
        }
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("Content after the object.");
        }
    }
}
