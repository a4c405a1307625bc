using System.Text;
using System.Text.Json.Nodes;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>A valid, viem-signed seed-shape body (Base Sepolia USDC, 1.00) and edited copies of it.</summary>
internal static class SeedBodies
{
    public static SeedVectors.Case Valid { get; } = SeedVectors.All.First(c => c.Kind == "valid" && c.Name.StartsWith("seed/base-sepolia/", StringComparison.Ordinal));

    public static string Text => Encoding.UTF8.GetString(Valid.Body);

    /// <summary>The valid body with <paramref name="edit"/> applied to its JSON.</summary>
    public static byte[] Edited(Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(Valid.Body)!.AsObject();
        edit(root);
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    public static JsonObject Proof(JsonObject root) => root["proof"]!.AsObject();

    public static JsonObject Payload(JsonObject root) => root["proof"]!["payload"]!.AsObject();

    public static JsonObject Requirements(JsonObject root) => root["requirements"]!.AsObject();

    /// <summary>The object holding the dotted <paramref name="path"/>'s last segment, and that segment.</summary>
    public static (JsonObject Parent, string Name) At(JsonObject root, string path)
    {
        var parts = path.Split('.');
        var node = root;
        foreach (var part in parts[..^1])
        {
            node = node[part]!.AsObject();
        }

        return (node, parts[^1]);
    }
}
