using Facilitator.Fast.Evm;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Evm;

/// <summary>Recovery against signatures made by viem (digest, compact r‖s‖v, signer, and the same signature with s' = n - s).</summary>
public sealed class Secp256k1Tests
{
    private static readonly (string Digest, string Signature, string Signer, string HighS)[] Vectors =
    [
        ("0x58377c0fcfe927f7fdfff8bb42bca9eda671f0a7324295c0273eb0be68816f99", "0x2c93f5fb5f6c1e7c839bf7c440504d2222aa4bc2ee1d198f99a3114b4f48d5da1b44b0918ddd6f17c816a28503d48861ecc812d8cf3cdc2f39f227e31618b7471b", "0x900Ac9D957CA15cD78a710d138aC94834008e25E", "0x2c93f5fb5f6c1e7c839bf7c440504d2222aa4bc2ee1d198f99a3114b4f48d5dae4bb4f6e722290e837e95d7afc2b779ccde6ca0de00bc40c85e036a9ba1d89fa1c"),
        ("0x6e8c65eac75f145a1d60f11850587b1a2c6ebd3f5a5c8094bd54d40540e9ac4b", "0x611af0ac6d39cd1664d805396f2143f39d35ca3793b94c764789cbb9f72b1d057d23ff538d838e3e9b6528d1496fcdc72935cbb1fece7381d923611540a9b9d21c", "0x4c512246eA0aBc556317a976FA460cFB92177455", "0x611af0ac6d39cd1664d805396f2143f39d35ca3793b94c764789cbb9f72b1d0582dc00ac727c71c1649ad72eb690323791791134b07a2cb9e6aefd778f8c876f1b"),
        ("0xbc6065442f87b62d7d686e957e6f76bcf6a67c59a0aafe8450d29059a736a175", "0x751cd7f6e798b38277ebf8a0118ced5865459a04b3742f979c8c5062cf0d966e3d79a1fba2252e60f138505287d0e179f19dfb8f01b18cb0756eb48a49a3a2221c", "0x2bc086AEfC987d52fc80Ee0e30DA9661c1668b0a", "0x751cd7f6e798b38277ebf8a0118ced5865459a04b3742f979c8c5062cf0d966ec2865e045ddad19f0ec7afad782f1e84c910e157ad97138b4a63aa0286929f1f1b"),
    ];

    public static TheoryData<string, string, string, string> Signatures =>
        new(Vectors.Select(v => new TheoryDataRow<string, string, string, string>(v.Digest, v.Signature, v.Signer, v.HighS)));

    [Theory]
    [MemberData(nameof(Signatures))]
    public void TryRecoverAddress_V27Or28_Signer(string digest, string signature, string signer, string highS)
    {
        _ = highS;
        Assert.Equal(SignatureCheck.Recovered, Recover(digest, Convert.FromHexString(signature[2..]), out var address));
        Assert.Equal(signer.ToLowerInvariant(), address);
    }

    [Theory]
    [MemberData(nameof(Signatures))]
    public void TryRecoverAddress_V0Or1_SameSigner(string digest, string signature, string signer, string highS)
    {
        _ = highS;
        var bytes = Convert.FromHexString(signature[2..]);
        bytes[64] -= 27;

        Assert.Equal(SignatureCheck.Recovered, Recover(digest, bytes, out var address));
        Assert.Equal(signer.ToLowerInvariant(), address);
    }

    [Theory]
    [MemberData(nameof(Signatures))]
    public void TryRecoverAddress_HighS_Refused(string digest, string signature, string signer, string highS)
    {
        _ = (signature, signer);
        Assert.Equal(SignatureCheck.HighS, Recover(digest, Convert.FromHexString(highS[2..]), out _));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(26)]
    [InlineData(29)]
    [InlineData(37)]
    public void TryRecoverAddress_OtherV_Refused(byte v)
    {
        var bytes = Convert.FromHexString((Vectors[0].Signature)[2..]);
        bytes[64] = v;

        Assert.Equal(SignatureCheck.InvalidRecoveryId, Recover(Vectors[0].Digest, bytes, out _));
    }

    [Fact]
    public void TryRecoverAddress_ZeroOrOverflowingR_Refused()
    {
        var bytes = Convert.FromHexString((Vectors[0].Signature)[2..]);
        bytes.AsSpan(0, 32).Clear();
        Assert.NotEqual(SignatureCheck.Recovered, Recover(Vectors[0].Digest, bytes, out _));

        bytes.AsSpan(0, 32).Fill(0xFF);
        Assert.Equal(SignatureCheck.OutOfRange, Recover(Vectors[0].Digest, bytes, out _));
    }

    [Fact]
    public void TryRecoverAddress_FlippedBit_AnotherAddress()
    {
        var (digest, signature, signer) = (Vectors[0].Digest, Convert.FromHexString((Vectors[0].Signature)[2..]), Vectors[0].Signer);
        signature[5] ^= 0x01;

        var check = Recover(digest, signature, out var address);

        Assert.True(check != SignatureCheck.Recovered || address != signer.ToLowerInvariant());
    }

    [Fact]
    public void TryRecoverAddress_Allocates_Nothing()
    {
        var digest = Convert.FromHexString((Vectors[0].Digest)[2..]);
        var signature = Convert.FromHexString((Vectors[0].Signature)[2..]);
        var address = new byte[20];

        Allocations.AssertNone(() => Secp256k1.TryRecoverAddress(digest, signature, address), warmup: 50, callsPerRound: 20);
    }

    private static SignatureCheck Recover(string digest, byte[] signature, out string address)
    {
        var bytes = new byte[20];
        var check = Secp256k1.TryRecoverAddress(Convert.FromHexString(digest[2..]), signature, bytes);
        address = "0x" + Convert.ToHexStringLower(bytes);
        return check;
    }
}
