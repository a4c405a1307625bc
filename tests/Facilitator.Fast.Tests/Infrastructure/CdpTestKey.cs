using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using NSec.Cryptography;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// A throw-away CDP API key in the shapes CDP issues, made by libraries other than the gateway's signing code: EC P-256
/// by the base library (SEC1 <c>EC PRIVATE KEY</c> as CDP hands it out, or PKCS#8), Ed25519 by NSec (libsodium). The
/// public half verifies independently: IdentityModel for ES256, NSec for EdDSA (IdentityModel has no EdDSA).
/// </summary>
internal sealed class CdpTestKey
{
    private readonly ECDsa? _ecdsa;
    private readonly NSec.Cryptography.PublicKey? _ed25519;

    private CdpTestKey(string keyId, string secret, string algorithm, ECDsa? ecdsa, NSec.Cryptography.PublicKey? ed25519)
    {
        KeyId = keyId;
        Secret = secret;
        Algorithm = algorithm;
        _ecdsa = ecdsa;
        _ed25519 = ed25519;
    }

    public string KeyId { get; }

    /// <summary>What <c>CDP_API_KEY_SECRET</c> holds.</summary>
    public string Secret { get; }

    /// <summary><c>ES256</c> or <c>EdDSA</c>.</summary>
    public string Algorithm { get; }

    /// <summary>For ES256: the key IdentityModel validates signatures with.</summary>
    public SecurityKey? IdentityModelKey => _ecdsa is null ? null : new ECDsaSecurityKey(_ecdsa);

    /// <summary>The secret's distinctive parts, none of which may appear in logs, errors or the status API.</summary>
    public IEnumerable<string> SecretFragments()
    {
        yield return Secret;
        foreach (var line in Secret.Replace("\\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            if (line.Length >= 16 && !line.StartsWith("-----", StringComparison.Ordinal))
            {
                yield return line[..16];
            }
        }
    }

    /// <summary>An EC key as CDP issues it: SEC1 PEM, id <c>organizations/{uuid}/apiKeys/{uuid}</c>.</summary>
    /// <param name="escapedNewlines">The PEM with literal <c>\n</c> for line breaks, as pasted into an environment variable.</param>
    public static CdpTestKey Sec1(bool escapedNewlines = false)
    {
        var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = ecdsa.ExportECPrivateKeyPem() + "\n";
        return new(EcKeyId(), escapedNewlines ? pem.Replace("\n", "\\n", StringComparison.Ordinal) : pem, "ES256", ecdsa, null);
    }

    /// <summary>An EC key as PKCS#8 PEM (what newer tools convert CDP's key to).</summary>
    public static CdpTestKey Pkcs8()
    {
        var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new(EcKeyId(), ecdsa.ExportPkcs8PrivateKeyPem(), "ES256", ecdsa, null);
    }

    /// <summary>An Ed25519 key as CDP issues it: base64 of seed then public key (88 characters), id a UUID.</summary>
    public static CdpTestKey Ed25519()
    {
        var algorithm = SignatureAlgorithm.Ed25519;
        using var key = Key.Create(algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var seed = key.Export(KeyBlobFormat.RawPrivateKey);
        var publicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var secret = Convert.ToBase64String([.. seed, .. publicKey]);
        return new(Guid.NewGuid().ToString(), secret, "EdDSA", null,
            NSec.Cryptography.PublicKey.Import(algorithm, publicKey, KeyBlobFormat.RawPublicKey));
    }

    public static CdpTestKey Of(string shape) => shape switch
    {
        "sec1" => Sec1(),
        "sec1-escaped" => Sec1(escapedNewlines: true),
        "pkcs8" => Pkcs8(),
        "ed25519" => Ed25519(),
        _ => throw new ArgumentOutOfRangeException(nameof(shape), shape, null),
    };

    /// <summary>Verifies an EdDSA signature with libsodium.</summary>
    public bool VerifyEd25519(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        _ed25519 is not null && SignatureAlgorithm.Ed25519.Verify(_ed25519, data, signature);

    private static string EcKeyId() => $"organizations/{Guid.NewGuid()}/apiKeys/{Guid.NewGuid()}";
}
