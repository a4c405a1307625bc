using System.Text;
using System.Text.Json;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>
/// The committed vectors of <c>Payments/Vectors/seed-vectors.json</c>: seed-shape payments signed with viem's
/// <c>signTypedData</c> (EIP-3009 TransferWithAuthorization), each with the translator's expected answer — a seed
/// error, or the x402 request the official facilitator judged as <see cref="Case.Official"/>.
/// </summary>
internal static class SeedVectors
{
    public sealed record Case(
        string Name,
        string Kind,
        byte[] Body,
        string Signer,
        string? Digest,
        string? X402,
        string? Local,
        string? Check,
        string? Official,
        string? Code,
        int Status,
        string[] Fields);

    public static long Now { get; private set; }

    public static IReadOnlyList<Case> All { get; } = Load();

    private static List<Case> Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Payments", "Vectors", "seed-vectors.json")));
        Now = document.RootElement.GetProperty("now").GetInt64();
        var cases = new List<Case>();
        foreach (var item in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            var name = item.GetProperty("name").GetString()!;
            var expect = item.GetProperty("expect");
            var translation = expect.GetProperty("translation");
            var refused = translation.ValueKind == JsonValueKind.Object;
            cases.Add(new Case(
                name,
                name.Split('/')[2],
                Encoding.UTF8.GetBytes(item.GetProperty("body").GetRawText()),
                item.GetProperty("signer").GetString()!,
                Text(item, "digest"),
                refused ? null : expect.GetProperty("x402").GetRawText(),
                Text(expect, "local"),
                Text(expect, "check"),
                Text(expect, "official"),
                refused ? translation.GetProperty("code").GetString() : null,
                refused ? translation.GetProperty("status").GetInt32() : 0,
                refused ? [.. translation.GetProperty("fields").EnumerateArray().Select(f => f.GetString()!)] : []));
        }

        return cases;
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
