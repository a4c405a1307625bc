using System.Text;
using Facilitator.Fast.Events;

namespace Facilitator.Fast.Tests.Events;

/// <summary>Reading what clients send: strictly, never throwing, filters normalised for case-insensitive matching.</summary>
public sealed class ClientMessageTests
{
    private static ClientMessage Read(string json)
    {
        Assert.True(ClientMessage.TryRead(Encoding.UTF8.GetBytes(json), out var message, out var code, out var problem), $"{code}: {problem}");
        return message;
    }

    [Fact]
    public void TryRead_SubscribeWithFilter_ChannelsAndNormalisedFilter()
    {
        var message = Read("""{"channels":["stats","payments","stats"],"filter":{"payee":"0xABCDEF0000000000000000000000000000000001","network":"base"},"type":"subscribe","id":7}""");

        Assert.Equal(ClientMessageType.Subscribe, message.Type);
        Assert.Equal(EventChannel.Payments | EventChannel.Stats, message.Channels);
        Assert.True(message.HasFilter);
        Assert.Equal("eip155:8453", message.Network);
        Assert.Equal("0xabcdef0000000000000000000000000000000001", message.Payee);
    }

    [Theory]
    [InlineData("""{"type":"subscribe","channels":["errors"],"filter":null}""", true)]
    [InlineData("""{"type":"subscribe","channels":["errors"],"filter":{"network":null}}""", true)]
    [InlineData("""{"type":"subscribe","channels":["errors"]}""", false)]
    public void TryRead_FilterNullOrEmpty_ClearsOnlyWhenGiven(string json, bool hasFilter)
    {
        var message = Read(json);

        Assert.Equal(hasFilter, message.HasFilter);
        Assert.Null(message.Network);
        Assert.Null(message.Payee);
    }

    [Fact]
    public void TryRead_Escapes_ReadAsTheirCharacters()
    {
        var message = Read("""{"type":"subscr\u0069be","channels":["p\u0061yments"],"filter":{"payee":"0x\u0041BCDEF0000000000000000000000000000000001"}}""");

        Assert.Equal(ClientMessageType.Subscribe, message.Type);
        Assert.Equal(EventChannel.Payments, message.Channels);
        Assert.Equal("0xabcdef0000000000000000000000000000000001", message.Payee);
    }

    [Fact]
    public void TryRead_SolanaNetwork_KeptAsCaip2()
    {
        Assert.Equal("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", Read("""{"type":"subscribe","channels":[],"filter":{"network":"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"}}""").Network);
    }

    [Theory]
    [InlineData("", "invalid_message")]
    [InlineData("{", "invalid_message")]
    [InlineData("\"subscribe\"", "invalid_message")]
    [InlineData("""{"type":"subscribe","channels":["payments"]}{}""", "invalid_message")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"channels":["stats"]}""", "invalid_message")]
    [InlineData("""{"type":"SUBSCRIBE","channels":["payments"]}""", "unknown_type")]
    [InlineData("""{"type":"subscribe"}""", "invalid_channel")]
    [InlineData("""{"type":"subscribe","channels":[1]}""", "invalid_channel")]
    [InlineData("""{"type":"subscribe","channels":["payments","payments","payments","payments","payments","payments","payments","payments","payments"]}""", "invalid_channel")]
    [InlineData("""{"type":"unsubscribe","channels":["payments"],"filter":{}}""", "invalid_filter")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":{"network":"eip155"}}""", "invalid_filter")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":{"network":"EIP155:1"}}""", "invalid_filter")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":{"payee":"0xZZ00000000000000000000000000000000000000"}}""", "invalid_filter")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":{"payee":"0x1111111111111111111111111111111111111111","payee":null}}""", "invalid_filter")]
    [InlineData("""{"type":"subscribe","channels":["payments"],"filter":{"payee":12}}""", "invalid_filter")]
    public void TryRead_Bad_RefusedWithItsCode(string json, string code)
    {
        Assert.False(ClientMessage.TryRead(Encoding.UTF8.GetBytes(json), out _, out var actual, out var problem));
        Assert.Equal(code, actual);
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void TryRead_RandomBytes_NeverThrows()
    {
        var random = new Random(6);
        var bytes = new byte[64];
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(bytes);
            var length = random.Next(bytes.Length);
            if (i % 2 == 0)
            {
                "{\"type\":\"subscribe\",\"channels\":["u8.CopyTo(bytes);
            }

            ClientMessage.TryRead(bytes.AsSpan(0, length), out _, out _, out _);
        }
    }
}
