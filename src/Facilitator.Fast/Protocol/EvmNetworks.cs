using System.Buffers.Text;

namespace Facilitator.Fast.Protocol;

/// <summary>
/// EVM chain ids of x402 networks: the v1 names (the union of the official <c>x402</c> and <c>@x402/evm</c> tables,
/// which agree wherever both know a name) and v2 CAIP-2 ids of the <c>eip155</c> namespace.
/// </summary>
public static class EvmNetworks
{
    private static readonly (byte[] Name, ulong ChainId)[] V1Names =
    [
        ("base"u8.ToArray(), 8453), ("base-sepolia"u8.ToArray(), 84532),
        ("avalanche"u8.ToArray(), 43114), ("avalanche-fuji"u8.ToArray(), 43113),
        ("polygon"u8.ToArray(), 137), ("polygon-amoy"u8.ToArray(), 80002),
        ("sei"u8.ToArray(), 1329), ("sei-testnet"u8.ToArray(), 1328),
        ("iotex"u8.ToArray(), 4689), ("peaq"u8.ToArray(), 3338),
        ("abstract"u8.ToArray(), 2741), ("abstract-testnet"u8.ToArray(), 11124),
        ("story"u8.ToArray(), 1514), ("educhain"u8.ToArray(), 41923),
        ("skale-base-sepolia"u8.ToArray(), 324705682),
        ("ethereum"u8.ToArray(), 1), ("sepolia"u8.ToArray(), 11155111),
        ("megaeth"u8.ToArray(), 4326), ("monad"u8.ToArray(), 143),
        ("stable"u8.ToArray(), 988), ("stable-testnet"u8.ToArray(), 2201),
        ("celo"u8.ToArray(), 42220), ("flare"u8.ToArray(), 14),
    ];

    /// <summary>The chain id of a v1 network name; false for a name no official table knows.</summary>
    public static bool TryGetV1ChainId(ReadOnlySpan<byte> name, out ulong chainId)
    {
        foreach (var (known, id) in V1Names)
        {
            if (name.SequenceEqual(known))
            {
                chainId = id;
                return true;
            }
        }

        chainId = 0;
        return false;
    }

    /// <summary>The chain id of a CAIP-2 <c>eip155:&lt;decimal&gt;</c> network; false for any other namespace or form.</summary>
    public static bool TryGetCaip2ChainId(ReadOnlySpan<byte> network, out ulong chainId)
    {
        chainId = 0;
        var prefix = "eip155:"u8;
        if (!network.StartsWith(prefix))
        {
            return false;
        }

        var digits = network[prefix.Length..];
        return digits.Length is > 0 and <= 19 && digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0
            && Utf8Parser.TryParse(digits, out chainId, out var consumed) && consumed == digits.Length;
    }
}
