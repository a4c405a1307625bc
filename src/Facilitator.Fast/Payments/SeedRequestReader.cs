using System.Text.Json;
using Facilitator.Fast.Edge;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Reads a seed-shape body <c>{proof, requirements}</c> with <see cref="Utf8JsonReader"/> (AOT-safe, no reflection) and
/// says what is wrong with its shape field by field, as the seed's zod schema would: strings where it has
/// <c>z.string()</c>, numbers where it has <c>z.number()</c> (here whole, non-negative and exact in a JavaScript number),
/// optional fields absent rather than null. Unknown fields are ignored, as zod strips them; a field given twice is
/// refused, so no two readers of the same bytes can see two payments.
/// </summary>
internal static class SeedRequestReader
{
    /// <summary>The largest integer a JavaScript number holds exactly (2^53 − 1): the seed's clients send numbers.</summary>
    public const long MaxSafeInteger = 9_007_199_254_740_991;

    private const int MaxDepth = 64;

    private delegate void Field(ref Utf8JsonReader reader, SeedVerifyBody body, string path, List<ApiErrorWriter.FieldError> errors);

    private static readonly (string Name, Field Read)[] PayloadFields =
    [
        ("amount", static (ref r, b, p, e) => b.Amount = ReadString(ref r, p, e)),
        ("asset", static (ref r, b, p, e) => b.Asset = ReadString(ref r, p, e)),
        ("from", static (ref r, b, p, e) => b.From = ReadString(ref r, p, e)),
        ("to", static (ref r, b, p, e) => b.To = ReadString(ref r, p, e)),
        ("nonce", static (ref r, b, p, e) => b.Nonce = ReadString(ref r, p, e)),
        ("deadline", static (ref r, b, p, e) => b.Deadline = ReadSeconds(ref r, p, e)),
        ("validAfter?", static (ref r, b, p, e) => b.ValidAfter = ReadSeconds(ref r, p, e)),
        ("validBefore?", static (ref r, b, p, e) => b.ValidBefore = ReadSeconds(ref r, p, e)),
    ];

    private static readonly (string Name, Field Read)[] ProofFields =
    [
        ("scheme", static (ref r, b, p, e) => b.ProofScheme = ReadString(ref r, p, e)),
        ("network", static (ref r, b, p, e) => b.ProofNetwork = ReadString(ref r, p, e)),
        ("signature", static (ref r, b, p, e) => b.Signature = ReadString(ref r, p, e)),
        ("payload", static (ref r, b, p, e) => ReadObject(ref r, b, p, e, PayloadFields)),
    ];

    private static readonly (string Name, Field Read)[] RequirementsFields =
    [
        ("scheme", static (ref r, b, p, e) => b.RequiredScheme = ReadString(ref r, p, e)),
        ("network", static (ref r, b, p, e) => b.RequiredNetwork = ReadString(ref r, p, e)),
        ("amount", static (ref r, b, p, e) => b.RequiredAmount = ReadString(ref r, p, e)),
        ("asset", static (ref r, b, p, e) => b.RequiredAsset = ReadString(ref r, p, e)),
        ("payTo", static (ref r, b, p, e) => b.PayTo = ReadString(ref r, p, e)),
        ("maxAge?", static (ref r, b, p, e) => b.MaxAge = ReadSeconds(ref r, p, e)),
        ("description?", static (ref r, b, p, e) => b.Description = ReadString(ref r, p, e)),
        ("resource?", static (ref r, b, p, e) => b.Resource = ReadString(ref r, p, e)),
    ];

    private static readonly (string Name, Field Read)[] RootFields =
    [
        ("proof", static (ref r, b, p, e) => ReadObject(ref r, b, p, e, ProofFields)),
        ("requirements", static (ref r, b, p, e) => ReadObject(ref r, b, p, e, RequirementsFields)),
    ];

    /// <summary>The body's fields, and a detail for each shape problem (none when the shape is right).</summary>
    public static SeedVerifyBody Read(ReadOnlySpan<byte> json, List<ApiErrorWriter.FieldError> errors)
    {
        var body = new SeedVerifyBody();
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            errors.Add(new("body", "is not valid UTF-8"));
            return body;
        }

        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read())
            {
                errors.Add(new("body", "is empty; expected a JSON object {proof, requirements}"));
                return body;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                EnsureEnd(ref reader);
                errors.Add(new("body", "must be a JSON object {proof, requirements}"));
                return body;
            }

            ReadObject(ref reader, body, "", errors, RootFields);
            EnsureEnd(ref reader);
            return body;
        }
        catch (JsonException)
        {
            errors.Clear();
            errors.Add(new("body", "is not valid JSON (or is nested more than 64 levels deep)"));
            return new SeedVerifyBody();
        }
    }

    /// <summary>Reads the object the reader is on (or says it is none), dispatching its known fields and skipping the rest.</summary>
    private static void ReadObject(
        ref Utf8JsonReader reader, SeedVerifyBody body, string path, List<ApiErrorWriter.FieldError> errors, (string Name, Field Read)[] fields)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            errors.Add(new(path, $"must be an object, not {Describe(reader.TokenType)}"));
            reader.Skip();
            return;
        }

        var seen = 0u;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var index = IndexOf(ref reader, fields);
            reader.Read();
            if (index < 0)
            {
                reader.Skip();
                continue;
            }

            var childPath = Join(path, fields[index].Name.TrimEnd('?'));
            if ((seen & (1u << index)) != 0)
            {
                errors.Add(new(childPath, "appears more than once"));
                reader.Skip();
                continue;
            }

            seen |= 1u << index;
            fields[index].Read(ref reader, body, childPath, errors);
        }

        for (var i = 0; i < fields.Length; i++)
        {
            if ((seen & (1u << i)) == 0 && !fields[i].Name.EndsWith('?'))
            {
                errors.Add(new(Join(path, fields[i].Name), "is required"));
            }
        }
    }

    private static int IndexOf(ref Utf8JsonReader reader, (string Name, Field Read)[] fields)
    {
        for (var i = 0; i < fields.Length; i++)
        {
            var name = fields[i].Name.AsSpan().TrimEnd('?');
            if (reader.ValueTextEquals(name))
            {
                return i;
            }
        }

        return -1;
    }

    private static string? ReadString(ref Utf8JsonReader reader, string path, List<ApiErrorWriter.FieldError> errors)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            errors.Add(new(path, $"must be a string, not {Describe(reader.TokenType)}"));
            reader.Skip();
            return null;
        }

        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate (\ud800) is valid JSON but no string.
            errors.Add(new(path, "is not a valid Unicode string"));
            return null;
        }
    }

    private static long? ReadSeconds(ref Utf8JsonReader reader, string path, List<ApiErrorWriter.FieldError> errors)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            errors.Add(new(path, $"must be a number, not {Describe(reader.TokenType)}"));
            reader.Skip();
            return null;
        }

        if (!reader.TryGetInt64(out var value) || value is < 0 or > MaxSafeInteger)
        {
            errors.Add(new(path, "must be a whole number of seconds from 0 to 9007199254740991"));
            return null;
        }

        return value;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        _ => "null",
    };

    private static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("Unexpected content after the top-level value.");
        }
    }
}
