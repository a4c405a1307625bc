using System.Security.Cryptography;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>Reading <c>CDP_API_KEY_SECRET</c> as Coinbase's SDKs do: the key's shape decides the algorithm; anything else stops the start.</summary>
public sealed class CdpApiKeyTests
{
    private const string IdSetting = "CDP_API_KEY_ID";
    private const string SecretSetting = "CDP_API_KEY_SECRET";

    /// <summary>A throw-away SEC1 key exactly as CDP's portal hands it out (64-character lines), pasted with literal \n.</summary>
    private const string CdpIssuedSec1 =
        "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIMXhN9zSGeybhICepaAuMi1QWMQYMEm9YOTsCTnmtJXuoAoGCCqGSM49\\nAwEHoUQDQgAEWIP1Lwj5jyCr8tyo4optLg9jsXsDy4VOGYnIV/l3CqMwL1Y/yPnM\\n8PlESONN8WiUNaxQa1pmLFeSz/jM0Ym+sg==\\n-----END EC PRIVATE KEY-----\\n";

    [Theory]
    [InlineData("sec1", "ES256")]
    [InlineData("sec1-escaped", "ES256")]
    [InlineData("pkcs8", "ES256")]
    [InlineData("ed25519", "EdDSA")]
    public void Parse_EveryShapeCdpIssues_AlgorithmFromTheShape(string shape, string algorithm)
    {
        var test = CdpTestKey.Of(shape);

        using var key = CdpApiKey.Parse(test.KeyId, test.Secret, IdSetting, SecretSetting);

        Assert.Equal(algorithm, key.Algorithm);
        Assert.Equal(test.KeyId, key.KeyId);
    }

    [Fact]
    public void Parse_Sec1AsCdpIssuesIt_Es256()
    {
        using var key = CdpApiKey.Parse("organizations/o/apiKeys/k", CdpIssuedSec1, IdSetting, SecretSetting);

        Assert.Equal("ES256", key.Algorithm);
    }

    [Fact]
    public void Sign_Es256_RawRAndSNotDer_VerifiedWithThePublicKey()
    {
        var test = CdpTestKey.Sec1();
        using var key = CdpApiKey.Parse(test.KeyId, test.Secret, IdSetting, SecretSetting);
        var data = "header.claims"u8.ToArray();
        var signature = new byte[CdpApiKey.SignatureLength];

        key.Sign(data, signature);

        using var verifier = ECDsa.Create();
        verifier.ImportSubjectPublicKeyInfo(key.ExportPublicKey(), out _);
        Assert.True(verifier.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        Assert.False(verifier.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    [Fact]
    public void Sign_Ed25519_VerifiedByLibsodium()
    {
        var test = CdpTestKey.Ed25519();
        using var key = CdpApiKey.Parse(test.KeyId, test.Secret, IdSetting, SecretSetting);
        var data = "header.claims"u8.ToArray();
        var signature = new byte[CdpApiKey.SignatureLength];

        key.Sign(data, signature);

        Assert.True(test.VerifyEd25519(data, signature));
        data[0] ^= 1;
        Assert.False(test.VerifyEd25519(data, signature));
    }

    public static TheoryData<string, string> UnusableSecrets()
    {
        using var rsa = RSA.Create(2048);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var ed = Convert.FromBase64String(CdpTestKey.Ed25519().Secret);
        var mismatched = ed.ToArray();
        mismatched[40] ^= 1;
        return new()
        {
            { "secret", "must be a CDP API key secret" },
            { Convert.ToBase64String(ed[..32]), "must be a CDP API key secret" },
            { Convert.ToBase64String(mismatched), "not the public key" },
            { rsa.ExportRSAPrivateKeyPem(), "must be an EC P-256 private key" },
            { rsa.ExportPkcs8PrivateKeyPem(), "could not be read" },
            { p384.ExportECPrivateKeyPem(), "another curve" },
            { p256.ExportSubjectPublicKeyInfoPem(), "must be an EC P-256 private key" },
            { p256.ExportEncryptedPkcs8PrivateKeyPem("pw", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1)), "must be an EC P-256 private key" },
            { "-----BEGIN EC PRIVATE KEY-----\nnot base64\n-----END EC PRIVATE KEY-----", "PEM" },
        };
    }

    [Theory]
    [MemberData(nameof(UnusableSecrets))]
    public void Parse_UnusableSecret_OneLineNamingTheSettingNeverTheSecret(string secret, string says)
    {
        var error = Assert.Throws<InvalidSettingException>(() => CdpApiKey.Parse("key-id", secret, IdSetting, SecretSetting));

        Assert.Equal(SecretSetting, error.Setting);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        foreach (var line in secret.Split('\n').Where(static l => l.Length > 8 && !l.StartsWith("-----", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(line[..8], error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("two words")]
    [InlineData("line\nbreak")]
    public void Parse_UnusableKeyId_NamesTheIdSetting(string keyId)
    {
        var error = Assert.Throws<InvalidSettingException>(() => CdpApiKey.Parse(keyId, CdpTestKey.Ed25519().Secret, IdSetting, SecretSetting));

        Assert.Equal(IdSetting, error.Setting);
    }
}
