using System.Text;
using System.Text.Json;

namespace Facilitator.Fast.Tests.Evm;

/// <summary>
/// The committed vectors of <c>Evm/Vectors/payment-vectors.json</c>: payments signed by the official x402 client code
/// (<c>@x402/evm</c> with viem) and tampered variants labelled with what the official facilitator answers.
/// </summary>
internal static class PaymentVectors
{
    public sealed record Case(
        string Name,
        string Kind,
        int Version,
        byte[] Body,
        string? Digest,
        string Signer,
        long Now,
        string Local,
        string? Reason,
        string? LegacyReason,
        string? Official);

    public static IReadOnlyList<Case> All { get; } = Load();

    private static List<Case> Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Evm", "Vectors", "payment-vectors.json")));
        var fileNow = document.RootElement.GetProperty("now").GetInt64();
        var cases = new List<Case>();
        foreach (var item in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            var name = item.GetProperty("name").GetString()!;
            var parts = name.Split('/');
            var kind = int.TryParse(parts[^1], out _) ? parts[^2] : parts[^1];
            var expect = item.GetProperty("expect");
            cases.Add(new Case(
                name,
                kind,
                item.GetProperty("x402Version").GetInt32(),
                Encoding.UTF8.GetBytes(item.GetProperty("request").GetRawText()),
                item.TryGetProperty("digest", out var digest) && digest.ValueKind == JsonValueKind.String ? digest.GetString() : null,
                item.GetProperty("signer").GetString()!,
                item.TryGetProperty("now", out var now) ? now.GetInt64() : fileNow,
                expect.GetProperty("local").GetString()!,
                Text(expect, "reason"),
                Text(expect, "legacyReason"),
                Text(expect, "official")));
        }

        return cases;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
