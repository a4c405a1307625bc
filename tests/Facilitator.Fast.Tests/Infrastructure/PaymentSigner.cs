using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// Signs x402 exact-EVM payments at test time with libsecp256k1's own signing functions, so tests can use payments
/// whose validity window contains the real clock. The EIP-712 digest is the service's (checked against viem by the
/// vector tests); the signature is libsecp256k1's, a different code path from the recovery under test.
/// </summary>
internal static unsafe partial class PaymentSigner
{
    public const string PayTo = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C";
    public const string BaseSepoliaUsdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

    private static readonly nint s_context = ContextCreate(1);

    /// <summary>A payer with a private key derived from <paramref name="seed"/>.</summary>
    public sealed record Payer(byte[] PrivateKey, string Address);

    public static Payer CreatePayer(int seed)
    {
        var key = new byte[32];
        Keccak256.Hash(Encoding.UTF8.GetBytes($"facilitator.fast test payer {seed}"), key);
        var publicKey = stackalloc byte[64];
        var serialized = stackalloc byte[65];
        nuint length = 65;
        fixed (byte* secret = key)
        {
            if (PublicKeyCreate(s_context, publicKey, secret) != 1)
            {
                throw new InvalidOperationException("Invalid test key.");
            }
        }

        PublicKeySerialize(s_context, serialized, &length, publicKey, 2);
        var hash = new byte[32];
        Keccak256.Hash(new ReadOnlySpan<byte>(serialized + 1, 64), hash);
        return new Payer(key, "0x" + Convert.ToHexStringLower(hash.AsSpan(12)));
    }

    /// <summary>A signed <c>{x402Version, paymentPayload, paymentRequirements}</c> body for Base Sepolia USDC.</summary>
    /// <param name="token">Another token's EIP-712 domain (name, version, contract) instead of Base Sepolia USDC.</param>
    /// <param name="description">
    /// The resource's description: v1 on the requirements instead of "Premium"; v2 with its mimeType on
    /// <c>paymentPayload.resource</c>, which otherwise has only the url.
    /// </param>
    /// <param name="extensions">v2: a JSON object for <c>paymentPayload.extensions</c>.</param>
    public static string Request(
        Payer payer,
        int x402Version,
        long validAfter,
        long validBefore,
        string value = "10000",
        string amount = "10000",
        int nonceSeed = 0,
        string payTo = PayTo,
        (string Name, string Version, string Contract)? token = null,
        string? description = null,
        string? extensions = null)
    {
        var (name, version, asset) = token ?? ("USDC", "2", BaseSepoliaUsdc);
        var nonce = new byte[32];
        Keccak256.Hash(Encoding.UTF8.GetBytes($"nonce {nonceSeed} {payer.Address} {validBefore}"), nonce);
        var nonceHex = "0x" + Convert.ToHexStringLower(nonce);
        var signature = Sign(payer, 84532, asset, name, version, payTo, value, validAfter, validBefore, nonce);
        var authorization = string.Create(CultureInfo.InvariantCulture,
            $$"""{"from":"{{payer.Address}}","to":"{{payTo}}","value":"{{value}}","validAfter":"{{validAfter}}","validBefore":"{{validBefore}}","nonce":"{{nonceHex}}"}""");
        var inner = $$"""{"signature":"{{signature}}","authorization":{{authorization}}}""";
        if (x402Version == 1)
        {
            return "{\"x402Version\":1,\"paymentPayload\":{\"x402Version\":1,\"scheme\":\"exact\",\"network\":\"base-sepolia\",\"payload\":" + inner
                + "},\"paymentRequirements\":{\"scheme\":\"exact\",\"network\":\"base-sepolia\",\"maxAmountRequired\":\"" + amount
                + "\",\"resource\":\"https://api.example.com/premium\",\"description\":\"" + (description ?? "Premium")
                + "\",\"mimeType\":\"application/json\",\"payTo\":\"" + PayTo
                + "\",\"maxTimeoutSeconds\":60,\"asset\":\"" + asset + "\",\"extra\":{\"name\":\"" + name + "\",\"version\":\"" + version + "\"}}}";
        }

        var requirements = "{\"scheme\":\"exact\",\"network\":\"eip155:84532\",\"amount\":\"" + amount + "\",\"asset\":\"" + asset
            + "\",\"payTo\":\"" + PayTo + "\",\"maxTimeoutSeconds\":60,\"extra\":{\"name\":\"" + name + "\",\"version\":\"" + version + "\"}}";
        var resource = description is null
            ? "{\"url\":\"https://api.example.com/premium\"}"
            : "{\"url\":\"https://api.example.com/premium\",\"description\":\"" + description + "\",\"mimeType\":\"application/json\"}";
        return "{\"x402Version\":2,\"paymentPayload\":{\"x402Version\":2,\"resource\":" + resource + ",\"accepted\":"
            + requirements + ",\"payload\":" + inner + (extensions is null ? "" : ",\"extensions\":" + extensions)
            + "},\"paymentRequirements\":" + requirements + "}";
    }

    /// <summary>A valid v1/v2 request for now, by the real clock.</summary>
    public static string ValidNow(int x402Version, int seed = 1, int nonceSeed = 0)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return Request(CreatePayer(seed), x402Version, now - 600, now + 300, nonceSeed: nonceSeed);
    }

    private static string Sign(
        Payer payer, ulong chainId, string asset, string name, string version, string to, string value, long validAfter, long validBefore, byte[] nonce)
    {
        EvmAddress.TryParse(Encoding.ASCII.GetBytes(asset), out var contract);
        var authorization = new TransferAuthorization();
        EvmAddress.TryParse(Encoding.ASCII.GetBytes(payer.Address), out authorization.From);
        EvmAddress.TryParse(Encoding.ASCII.GetBytes(to), out authorization.To);
        UInt256.TryParseDecimal(Encoding.ASCII.GetBytes(value), out authorization.Value);
        authorization.ValidAfter = (ulong)validAfter;
        authorization.ValidBefore = (ulong)validBefore;
        nonce.CopyTo(authorization.Nonce);

        Span<byte> separator = stackalloc byte[32];
        Span<byte> structHash = stackalloc byte[32];
        var digest = new byte[32];
        Eip712.ComputeDomainSeparator(Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(version), chainId, contract, separator);
        authorization.ComputeStructHash(structHash);
        Eip712.ComputeDigest(separator, structHash, digest);

        var recoverable = stackalloc byte[65];
        var compact = new byte[65];
        int recoveryId;
        fixed (byte* message = digest)
        fixed (byte* secret = payer.PrivateKey)
        fixed (byte* output = compact)
        {
            if (SignRecoverable(s_context, recoverable, message, secret, 0, 0) != 1)
            {
                throw new InvalidOperationException("Signing failed.");
            }

            SerializeCompact(s_context, output, &recoveryId, recoverable);
        }

        compact[64] = (byte)(27 + recoveryId);
        return "0x" + Convert.ToHexStringLower(compact);
    }

    [LibraryImport("libsecp256k1.so.1", EntryPoint = "secp256k1_context_create")]
    private static partial nint ContextCreate(uint flags);

    [LibraryImport("libsecp256k1.so.1", EntryPoint = "secp256k1_ec_pubkey_create")]
    private static partial int PublicKeyCreate(nint context, byte* publicKey, byte* secretKey);

    [LibraryImport("libsecp256k1.so.1", EntryPoint = "secp256k1_ec_pubkey_serialize")]
    private static partial int PublicKeySerialize(nint context, byte* output, nuint* outputLength, byte* publicKey, uint flags);

    [LibraryImport("libsecp256k1.so.1", EntryPoint = "secp256k1_ecdsa_sign_recoverable")]
    private static partial int SignRecoverable(nint context, byte* signature, byte* message, byte* secretKey, nint nonceFunction, nint nonceData);

    [LibraryImport("libsecp256k1.so.1", EntryPoint = "secp256k1_ecdsa_recoverable_signature_serialize_compact")]
    private static partial int SerializeCompact(nint context, byte* output64, int* recoveryId, byte* signature);
}
