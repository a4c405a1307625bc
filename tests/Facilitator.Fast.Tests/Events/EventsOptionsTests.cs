using Facilitator.Fast.Events;
using Microsoft.Extensions.Configuration;

namespace Facilitator.Fast.Tests.Events;

/// <summary>Bad <c>Events</c> settings stop the start with one line naming the setting.</summary>
public sealed class EventsOptionsTests
{
    private static EventsOptions Load(params (string Key, string Value)[] settings) =>
        EventsOptions.Load(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create<string, string?>(s.Key, s.Value))).Build());

    [Fact]
    public void Load_Nothing_TheDocumentedDefaults()
    {
        var options = Load();

        Assert.True(options.Enabled);
        Assert.Equal("/ws", options.Path);
        Assert.Equal(5000, options.StatsIntervalMs);
        Assert.Equal(30_000, options.PingIntervalMs);
        Assert.Equal(256, options.ClientQueueCapacity);
        Assert.Equal(SlowConsumerPolicy.DropOldest, options.SlowConsumerPolicy);
        Assert.Equal(4096, options.MaxInboundMessageBytes);
        Assert.Equal(10, options.MaxBadFrames);
    }

    [Theory]
    [InlineData("Events:Path", "ws")]
    [InlineData("Events:Path", "/health/ws")]
    [InlineData("Events:Path", "/verify")]
    [InlineData("Events:Path", "/ws?x=1")]
    [InlineData("Events:Path", "/")]
    [InlineData("Events:StatsIntervalMs", "0")]
    [InlineData("Events:PingIntervalMs", "10")]
    [InlineData("Events:ClientQueueCapacity", "1")]
    [InlineData("Events:MaxConnections", "0")]
    [InlineData("Events:MaxConnectionsPerClient", "-1")]
    [InlineData("Events:MaxInboundMessageBytes", "100")]
    [InlineData("Events:MaxBadFrames", "-1")]
    [InlineData("Events:SubscribeTimeoutMs", "-5")]
    [InlineData("Events:SlowConsumerPolicy", "Block")]
    [InlineData("Events:Enabled", "maybe")]
    public void Load_BadSetting_StopsTheStartNamingIt(string key, string value)
    {
        var ex = Assert.Throws<InvalidSettingException>(() => Load((key, value)));

        Assert.StartsWith("Invalid setting Events", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }
}
