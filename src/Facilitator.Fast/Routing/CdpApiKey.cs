using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Facilitator.Fast.Routing;

/// <summary>
/// A Coinbase CDP API key, read the way Coinbase's own SDKs read <c>CDP_API_KEY_SECRET</c>: a PEM EC P-256 private key
/// (SEC1 <c>EC PRIVATE KEY</c> as CDP issues it, or PKCS#8) signs <c>ES256</c>; a base64 64-byte Ed25519 key (seed then
/// public key, CDP's default since 2025) signs <c>EdDSA</c>. Anything else stops the start.
/// </summary>
/// <remarks>
/// Ed25519 is BouncyCastle's managed implementation (already what signs PayAI's merchant token: no native library beside
/// the AOT binary, no trim or AOT warnings). ES256 is the base library's <see cref="ECDsa"/> (OpenSSL), whose
/// <c>SignData</c> makes a fresh signing context per call, so one key signs concurrent requests without a lock.
/// The key's text is never kept, logged or put into an error.
/// </remarks>
public sealed class CdpApiKey : IDisposable
{
    /// <summary>The longest key id accepted: CDP's are a UUID or <c>organizations/{uuid}/apiKeys/{uuid}</c>.</summary>
    public const int MaxKeyIdLength = 256;

    private const string P256Oid = "1.2.840.10045.3.1.7";

    private readonly ECDsa? _ecdsa;
    private readonly Ed25519PrivateKeyParameters? _ed25519;

    private CdpApiKey(string keyId, ECDsa? ecdsa, Ed25519PrivateKeyParameters? ed25519)
    {
        KeyId = keyId;
        _ecdsa = ecdsa;
        _ed25519 = ed25519;
    }

    /// <summary>The key's id: the JWT's <c>kid</c> and <c>sub</c>. Not shown anywhere either.</summary>
    public string KeyId { get; }

    /// <summary>The JWS algorithm this key signs with: <c>ES256</c> or <c>EdDSA</c>.</summary>
    public string Algorithm => _ecdsa is not null ? "ES256" : "EdDSA";

    /// <summary>The signature's length in bytes: 64 for both (ES256 as raw <c>r‖s</c>, RFC 7518 §3.4).</summary>
    public const int SignatureLength = 64;

    /// <summary>
    /// Reads a key. <paramref name="idSetting"/> and <paramref name="secretSetting"/> name where they came from, for the
    /// one-line error; the error never contains either value.
    /// </summary>
    public static CdpApiKey Parse(string? keyId, string? secret, string idSetting, string secretSetting)
    {
        var id = keyId?.Trim();
        if (string.IsNullOrEmpty(id) || id.Length > MaxKeyIdLength || id.Any(static c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw new InvalidSettingException(idSetting, $"must be the CDP API key's id (1-{MaxKeyIdLength} characters without spaces).");
        }

        // Secrets pasted into an environment variable carry their line breaks as the two characters '\' 'n'.
        var text = (secret ?? "").Replace("\\n", "\n", StringComparison.Ordinal).Trim();
        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            return new CdpApiKey(id, ReadPem(text, secretSetting), null);
        }

        return new CdpApiKey(id, null, ReadEd25519(text, secretSetting));
    }

    /// <summary>Signs <paramref name="data"/> into <paramref name="signature"/> (at least <see cref="SignatureLength"/> bytes).</summary>
    public void Sign(ReadOnlySpan<byte> data, Span<byte> signature)
    {
        if (_ecdsa is not null)
        {
            // IEEE P1363 (r‖s, 32 bytes each) is SignData's default format: what JWS ES256 is, not DER.
            _ecdsa.SignData(data, signature, HashAlgorithmName.SHA256);
        }
        else
        {
            _ed25519!.Sign(Ed25519.Algorithm.Ed25519, null, data, signature);
        }
    }

    /// <summary>The public key, for tests that verify signatures independently: SPKI DER (ES256) or 32 raw bytes (EdDSA).</summary>
    public byte[] ExportPublicKey() =>
        _ecdsa is not null ? _ecdsa.ExportSubjectPublicKeyInfo() : _ed25519!.GeneratePublicKey().GetEncoded();

    public void Dispose() => _ecdsa?.Dispose();

    private static ECDsa ReadPem(string text, string setting)
    {
        const string Expected = "a PEM key must be an EC P-256 private key (-----BEGIN EC PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----).";
        if (!PemEncoding.TryFind(text, out var fields))
        {
            throw new InvalidSettingException(setting, "is not a readable PEM block; " + Expected);
        }

        var label = text.AsSpan()[fields.Label];
        if (!label.SequenceEqual("EC PRIVATE KEY") && !label.SequenceEqual("PRIVATE KEY"))
        {
            throw new InvalidSettingException(setting, Expected);
        }

        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(text);
            if (ecdsa.ExportParameters(false).Curve.Oid?.Value != P256Oid)
            {
                throw new InvalidSettingException(setting, "is an EC key on another curve; CDP keys are P-256 (ES256).");
            }

            return ecdsa;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            ecdsa.Dispose();
            throw new InvalidSettingException(setting, "could not be read as a private key; " + Expected);
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }

    private static Ed25519PrivateKeyParameters ReadEd25519(string text, string setting)
    {
        const string Expected =
            "must be a CDP API key secret: a PEM EC P-256 private key (ES256) or the base64 of a 64-byte Ed25519 key, seed then public key (EdDSA).";
        Span<byte> bytes = stackalloc byte[66];
        try
        {
            if (!Convert.TryFromBase64String(text, bytes, out var length) || length != 64)
            {
                throw new InvalidSettingException(setting, Expected);
            }

            var key = new Ed25519PrivateKeyParameters(bytes[..32]);
            Span<byte> derived = stackalloc byte[32];
            key.GeneratePublicKey().Encode(derived);
            if (!derived.SequenceEqual(bytes[32..64]))
            {
                throw new InvalidSettingException(setting, "is a 64-byte Ed25519 key whose last 32 bytes are not the public key of its first 32.");
            }

            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }
}
