using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>
/// An instance with the local settlement fallback on and its ledgers at their smallest bound (1 MiB), answers up to
/// 4 MiB accepted, so that a test can make copies and records not fit; and Redis stopped as every instance sees it.
/// </summary>
internal static class SmallFallback
{
    public static Dictionary<string, string?> Settings(RedisServer redis, FakeFacilitator upstream)
    {
        var settings = redis.GatewaySettings(("only", upstream.Url));
        settings["Redis:LocalSettlementFallback"] = "true";
        settings["Settlement:MaxMemoryBytes"] = (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Aggregator:MaxResponseBodyBytes"] = (4 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Settlement:WaitMs"] = "300";
        return settings;
    }

    /// <summary>A successful settle answer with a receipt of <paramref name="receiptBytes"/> bytes.</summary>
    public static string SettledWithReceipt(int receiptBytes, char fill) =>
        $$"""{"success":true,"transaction":"0xfeed","network":"eip155:84532","receipt":"{{new string(fill, receiptBytes)}}"}""";

    public static async Task StopRedisAsync(RedisServer redis, params GatewayHost[] gateways)
    {
        await redis.StopAsync();
        foreach (var gateway in gateways)
        {
            var connection = gateway.Services.GetRequiredService<RedisConnection>();
            await Eventually.TrueAsync(() => !connection.IsConnected, "the instance sees Redis gone");
        }
    }

    public static string Short(string text) => text[..Math.Min(200, text.Length)];
}
