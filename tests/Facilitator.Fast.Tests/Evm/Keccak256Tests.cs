using System.Text;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Evm;

public sealed class Keccak256Tests
{
    [Theory]
    [InlineData("", "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")]
    [InlineData("abc", "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")]
    [InlineData("The quick brown fox jumps over the lazy dog", "0x4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15")]
    public void Hash_PublishedVectors_Match(string text, string expected) =>
        Assert.Equal(expected, Hex(Hash(Encoding.ASCII.GetBytes(text))));

    /// <summary>Every block boundary of the 136-byte rate, against viem's keccak256 of the same bytes.</summary>
    [Theory]
    [InlineData(0, "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")]
    [InlineData(1, "0x69c322e3248a5dfc29d73c5b0553b0185a35cd5bb6386747517ef7e53b15e287")]
    [InlineData(31, "0x8522dc30be01c01348c0591309ac2948c9ae4ce02facbb745f85a5297286d3dd")]
    [InlineData(32, "0x04d1b47ed3b04c5ff6a0280293cb2ab55bd297c9c2e0c3449831b419285d7df2")]
    [InlineData(135, "0x00ef96af9cf4b24c7f269d922294444a197d0a33638c2e56634c57e892103a8f")]
    [InlineData(136, "0x742061bcad767ed4c4f5883b1dcb1aad11afdcc140dc469d953759b127b9f9ed")]
    [InlineData(137, "0xe3371f61e770abf254c34239c3b0099ad90594507415bc81dd0a10b9692bbf2a")]
    [InlineData(271, "0x4401c4afbe16ff911bdbf2d38e556e5b861f3fdf0f9d4306b1c46f6ae4f73584")]
    [InlineData(272, "0xac141fd7b0a0ffcd2e967254d508da3ec616596493c36fa304425647d90e6de5")]
    [InlineData(273, "0x16192ea86793083e47731cb3c970600f04768414d92bc0540e54ce8607a0fce0")]
    [InlineData(1024, "0x659d180a9c2d3536b18946e40dc0bac856f2c03d8cd7b4be2d0af097d854a29b")]
    [InlineData(100000, "0x42350b8598669d17e07ef0f32083916166e0310d9faf2859dde1377b1d50826c")]
    public void Hash_AtBlockBoundaries_MatchesReference(int length, string expected)
    {
        var input = new byte[length];
        for (var i = 0; i < length; i++)
        {
            input[i] = (byte)((i * 7) + 3);
        }

        Assert.Equal(expected, Hex(Hash(input)));
    }

    [Fact]
    public void TypeHashes_AreKeccakOfTheirTypeStrings()
    {
        Assert.Equal(
            Hex(Hash(Encoding.ASCII.GetBytes("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"))),
            Hex(TransferAuthorization.TypeHash.ToArray()));
        Assert.Equal(
            Hex(Hash(Encoding.ASCII.GetBytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"))),
            Hex(Eip712.DomainTypeHash.ToArray()));
    }

    [Fact]
    public void Hash_Allocates_Nothing()
    {
        var input = new byte[1024];
        var output = new byte[32];

        Allocations.AssertNone(() => Keccak256.Hash(input, output));
    }

    internal static byte[] Hash(byte[] input)
    {
        var output = new byte[32];
        Keccak256.Hash(input, output);
        return output;
    }

    internal static string Hex(byte[] bytes) => "0x" + Convert.ToHexStringLower(bytes);
}
