namespace Facilitator.Fast.Protocol;

/// <summary>A token the official x402 packages list for a network: its contract, EIP-712 domain and decimals.</summary>
/// <param name="Network">CAIP-2 id, e.g. <c>eip155:8453</c>.</param>
/// <param name="Address">The token contract, checksummed as the packages write it.</param>
/// <param name="DomainName">The EIP-712 domain name its <c>transferWithAuthorization</c> is signed under.</param>
/// <param name="DomainVersion">The EIP-712 domain version.</param>
/// <param name="IsUsd">A US-dollar stablecoin: its volume counts as US dollars in the analytics.</param>
public sealed record KnownAsset(string Network, string Address, string DomainName, string DomainVersion, int Decimals, string Symbol, bool IsUsd)
{
    public ulong ChainId { get; } = EvmNetworks.TryGetCaip2ChainId(System.Text.Encoding.ASCII.GetBytes(Network), out var id) ? id : 0;
}

/// <summary>
/// The EIP-3009 tokens of the official <c>@x402/evm</c> package's default-asset table (2.27): what the <c>/v1</c> API
/// accepts, how a seed-shape payment's amounts convert to atomic units, its EIP-712 domain, and which assets are dollars.
/// </summary>
public static class KnownAssets
{
    public static IReadOnlyList<KnownAsset> All { get; } =
    [
        new("eip155:8453", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin", "2", 6, "USDC", true),
        new("eip155:84532", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", "2", 6, "USDC", true),
        new("eip155:1", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USD Coin", "2", 6, "USDC", true),
        new("eip155:43114", "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", "USD Coin", "2", 6, "USDC", true),
        new("eip155:143", "0x754704Bc059F8C67012fEd69BC8A327a5aafb603", "USDC", "2", 6, "USDC", true),
        new("eip155:988", "0x779Ded0c9e1022225f8E0630b35a9b54bE713736", "USDT0", "1", 6, "USDT0", true),
        new("eip155:2201", "0x78Cf24370174180738C5B8E352B6D14c83a6c9A9", "USDT0", "1", 6, "USDT0", true),
        new("eip155:137", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin", "2", 6, "USDC", true),
        new("eip155:42161", "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "USD Coin", "2", 6, "USDC", true),
        new("eip155:421614", "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", "USD Coin", "2", 6, "USDC", true),
        new("eip155:36900", "0x9cb8142aEBBcdc60AF7c97Af897A67A8f3CA71C2", "USDC.e", "2", 6, "USDC.e", true),
        new("eip155:190415", "0x401eCb1D350407f13ba348573E5630B83638E30D", "Bridged USDC", "2", 6, "USDC.e", true),
        new("eip155:181228", "0x401eCb1D350407f13ba348573E5630B83638E30D", "Bridged USDC", "2", 6, "USDC.e", true),
        new("eip155:50", "0xfA2958CB79b0491CC627c1557F441eF849Ca8eb1", "USDC", "2", 6, "USDC", true),
        new("eip155:51", "0xb5AB69F7bBada22B28e79C8FFAECe55eF1c771D4", "USDC", "2", 6, "USDC", true),
        new("eip155:14", "0xe7cd86e13AC4309349F30B3435a9d337750fC82D", "USD₮0", "1", 6, "USDT0", true),
        new("eip155:42220", "0xcebA9300f2b948710d2653dD7B07f33A8B32118C", "USDC", "2", 6, "USDC", true),
        new("eip155:42220", "0x48065fbBE25f71C9282ddf5e1cD6D6A887483D5e", "Tether USD", "1", 6, "USDT", true),
        new("eip155:42220", "0xD2ab3C9A02DBBAB236BfEC45D1d755DF4267F771", "Tether America USD", "1", 6, "USAT", true),
        new("eip155:11142220", "0x01C5C0122039549AD1493B8220cABEdD739BC44E", "USDC", "2", 6, "USDC", true),
        new("eip155:1329", "0xe15fC38F6D8c56aF07bbCBe3BAf5708A2Bf42392", "USDC", "2", 6, "USDC", true),
        new("eip155:1328", "0x4fCF1784B31630811181f670Aea7A7bEF803eaED", "USDC", "2", 6, "USDC", true),
    ];

    private static readonly Dictionary<string, KnownAsset> ByAddress = All.ToDictionary(
        static a => Key(a.Network, a.Address), StringComparer.OrdinalIgnoreCase);

    /// <summary>The asset at <paramref name="asset"/> on <paramref name="network"/> (CAIP-2), or by its symbol when the network lists it once.</summary>
    public static KnownAsset? Find(string network, string asset)
    {
        if (ByAddress.TryGetValue(Key(network, asset), out var known))
        {
            return known;
        }

        KnownAsset? bySymbol = null;
        foreach (var candidate in All)
        {
            if (candidate.Network == network && string.Equals(candidate.Symbol, asset, StringComparison.OrdinalIgnoreCase))
            {
                if (bySymbol is not null)
                {
                    return null;
                }

                bySymbol = candidate;
            }
        }

        return bySymbol;
    }

    /// <summary>Whether any asset is listed for <paramref name="network"/>.</summary>
    public static bool ListsNetwork(string network) => All.Any(a => a.Network == network);

    /// <summary>
    /// The CAIP-2 id of an x402 network: a v1 name (<c>base-sepolia</c>) becomes <c>eip155:84532</c>; a CAIP-2 id or a
    /// network this table does not know is kept as it is.
    /// </summary>
    public static string Caip2Of(ReadOnlySpan<byte> network) =>
        EvmNetworks.TryGetV1ChainId(network, out var chainId)
            ? "eip155:" + chainId.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : System.Text.Encoding.UTF8.GetString(network);

    private static string Key(string network, string address) => network + "|" + address;
}
