using System.Text.Json;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// Merges the <c>/supported</c> answers of several facilitators into the one answer a caller sees.
/// </summary>
/// <remarks>
/// Kinds are deduplicated by (x402Version, scheme, network); the answers are given in the order payments would be
/// routed (healthy upstreams first, then priority), and the first facilitator's entry wins, including its
/// <c>extra</c>: a fee payer there binds the payment to that facilitator, so the one advertised is the one that will
/// take it. v1 kinds (<c>base-sepolia</c>) and v2 kinds (<c>eip155:84532</c>) are distinct entries because their
/// versions differ. Extensions are a set; signer lists are unions per key. Top-level fields this version does not know
/// are kept: the first upstream's value at the top, and where another upstream answered a different value, that
/// upstream's under <c>upstreamFields.&lt;id&gt;</c>, so nothing any facilitator said is lost.
/// </remarks>
public static class SupportedKindsMerger
{
    public const string UpstreamFieldsName = "upstreamFields";

    public static SupportedResponse Merge(IEnumerable<(string UpstreamId, SupportedResponse Answer)> answers)
    {
        var merged = new SupportedResponse();
        var seenKinds = new HashSet<(int, string, string)>();
        var seenExtensions = new HashSet<string>(StringComparer.Ordinal);
        var signers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var signerValues = new Dictionary<string, JsonElement>(StringComparer.Ordinal);

        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var conflicting = new Dictionary<string, Dictionary<string, JsonElement>>(StringComparer.Ordinal);
        foreach (var (upstreamId, answer) in answers)
        {
            foreach (var (name, value) in answer.AdditionalFields ?? [])
            {
                if (name == UpstreamFieldsName)
                {
                    continue;
                }

                if (!fields.TryGetValue(name, out var first))
                {
                    fields[name] = value;
                }
                else if (first.GetRawText() != value.GetRawText())
                {
                    if (!conflicting.TryGetValue(upstreamId, out var own))
                    {
                        conflicting[upstreamId] = own = new(StringComparer.Ordinal);
                    }

                    own[name] = value;
                }
            }

            foreach (var kind in answer.Kinds)
            {
                if (kind.X402Version > 0 && kind.Scheme.Length > 0 && kind.Network.Length > 0
                    && seenKinds.Add((kind.X402Version, kind.Scheme, kind.Network)))
                {
                    merged.Kinds.Add(kind);
                }
            }

            foreach (var extension in answer.Extensions)
            {
                if (seenExtensions.Add(extension.GetRawText()))
                {
                    merged.Extensions.Add(extension);
                }
            }

            foreach (var (family, value) in answer.Signers)
            {
                if (value.ValueKind != JsonValueKind.Array)
                {
                    signerValues.TryAdd(family, value);
                    continue;
                }

                if (!signers.TryGetValue(family, out var list))
                {
                    signers[family] = list = [];
                }

                foreach (var item in value.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String && item.GetString() is { } address && !list.Contains(address, StringComparer.OrdinalIgnoreCase))
                    {
                        list.Add(address);
                    }
                }
            }
        }

        merged.Kinds = [.. merged.Kinds.OrderBy(static k => k.X402Version)];
        foreach (var (family, list) in signers)
        {
            merged.Signers[family] = ToJsonArray(list);
        }

        foreach (var (family, value) in signerValues)
        {
            merged.Signers.TryAdd(family, value);
        }

        if (conflicting.Count > 0)
        {
            fields[UpstreamFieldsName] = JsonSerializer.SerializeToElement(conflicting, X402JsonContext.Default.DictionaryStringDictionaryStringJsonElement);
        }

        merged.AdditionalFields = fields.Count > 0 ? fields : null;
        return merged;
    }

    private static JsonElement ToJsonArray(List<string> values)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var value in values)
            {
                writer.WriteStringValue(value);
            }

            writer.WriteEndArray();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
