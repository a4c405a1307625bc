using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Facilitator.Fast.Routing;

/// <summary>
/// PayAI's merchant token: a JWT signed with the merchant's Ed25519 key (<c>alg:EdDSA</c>, <c>kid</c> = <c>sub</c> = key
/// id, <c>iss:"payai-merchant"</c>, <c>iat</c>, <c>exp</c> = <c>iat</c> + 120 s, a random <c>jti</c>), sent as a bearer
/// token. PayAI accepts a token until it expires, so one is reused until 20 s before then; without a token PayAI serves
/// the free shared lane, and an invalid one is refused rather than downgraded.
/// </summary>
/// <remarks>Ed25519 is not in the .NET base library: BouncyCastle's managed implementation signs (no native library,
/// no trim or AOT warnings).</remarks>
public sealed class PayAiMerchantToken : IUpstreamCredentials
{
    public const string KindName = "payai-merchant";

    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromSeconds(20);

    private readonly string _keyId;
    private readonly Ed25519PrivateKeyParameters _key;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private (string Header, DateTimeOffset RenewAt)? _current;

    public PayAiMerchantToken(string keyId, byte[] seed, TimeProvider time)
    {
        _keyId = keyId;
        _key = new Ed25519PrivateKeyParameters(seed, 0);
        _time = time;
    }

    public string Kind => KindName;

    /// <summary>The public key, for tests and operators checking a key pair.</summary>
    public byte[] PublicKey => _key.GeneratePublicKey().GetEncoded();

    public bool Apply(HttpRequestMessage request, Protocol.FacilitatorOperation operation) =>
        request.Headers.TryAddWithoutValidation("Authorization", Current());

    /// <summary>The <c>Authorization</c> value to send now: the cached token while it has 20 s left, else a new one.</summary>
    public string Current()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_current is { } current && now < current.RenewAt)
            {
                return current.Header;
            }

            var header = "Bearer " + Sign(now);
            _current = (header, now + Lifetime - RenewBefore);
            return header;
        }
    }

    private string Sign(DateTimeOffset now)
    {
        var issuedAt = now.ToUnixTimeSeconds();
        Span<byte> jti = stackalloc byte[16];
        RandomNumberGenerator.Fill(jti);
        var header = Json(writer =>
        {
            writer.WriteString("alg"u8, "EdDSA"u8);
            writer.WriteString("typ"u8, "JWT"u8);
            writer.WriteString("kid"u8, _keyId);
        });
        var id = Convert.ToHexStringLower(jti);
        var payload = Json(writer =>
        {
            writer.WriteString("iss"u8, "payai-merchant"u8);
            writer.WriteString("sub"u8, _keyId);
            writer.WriteNumber("iat"u8, issuedAt);
            writer.WriteNumber("exp"u8, issuedAt + (long)Lifetime.TotalSeconds);
            writer.WriteString("jti"u8, id);
        });
        var signingInput = Base64Url.EncodeToString(header) + "." + Base64Url.EncodeToString(payload);
        var signer = new Ed25519Signer();
        signer.Init(true, _key);
        var bytes = Encoding.ASCII.GetBytes(signingInput);
        signer.BlockUpdate(bytes, 0, bytes.Length);
        return signingInput + "." + Base64Url.EncodeToString(signer.GenerateSignature());
    }

    private static byte[] Json(Action<System.Text.Json.Utf8JsonWriter> members)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The Ed25519 seed from <paramref name="base64"/>: 32 bytes of seed, or the 64 of seed then public key (which must
    /// match); null when it is neither.
    /// </summary>
    public static byte[]? ParseSeed(string base64)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            return null;
        }

        if (bytes.Length == 32)
        {
            return bytes;
        }

        if (bytes.Length != 64)
        {
            return null;
        }

        var seed = bytes[..32];
        var derived = new Ed25519PrivateKeyParameters(seed, 0).GeneratePublicKey().GetEncoded();
        return derived.AsSpan().SequenceEqual(bytes.AsSpan(32)) ? seed : null;
    }
}
