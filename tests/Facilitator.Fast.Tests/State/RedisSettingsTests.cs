using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.State;

/// <summary>A Redis setting that cannot be used stops the start with one line naming it, never echoing a password.</summary>
public sealed class RedisSettingsTests
{
    [Theory]
    [InlineData("REDIS_URL", "redis://:hunter2@@", "REDIS_URL")]
    [InlineData("REDIS_URL", "redis://:hunter2@/0", "REDIS_URL")]
    [InlineData("REDIS_URL", "redis://:hunter2@cache:99999", "REDIS_URL")]
    [InlineData("REDIS_URL", "rediss://:hunter2@cache:6380/zero", "REDIS_URL")]
    [InlineData("Redis:ConnectionString", "127.0.0.1:6379,bogus=1,password=hunter2", "Redis:ConnectionString")]
    [InlineData("Redis:ConnectionString", "127.0.0.1:6379,password=hunter2,connectTimeout=soon", "Redis:ConnectionString")]
    [InlineData("Redis:ConnectionString", ",password=hunter2", "Redis:ConnectionString")]
    [InlineData("Redis:LocalSettlementFallback", "perhaps", "Redis:LocalSettlementFallback")]
    public async Task Start_UnusableRedisSetting_OneLineNamingItWithoutThePassword(string key, string value, string named)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings[key] = value;
        if (key == "Redis:LocalSettlementFallback")
        {
            settings["Redis:ConnectionString"] = "127.0.0.1:1";
        }

        var ex = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

        Assert.Contains(named, ex.Message);
        Assert.DoesNotContain("hunter2", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task Start_UnknownRedisOption_NamesTheOption()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Redis:ConnectionString"] = "127.0.0.1:6379,bogus=1";

        var ex = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

        Assert.Contains("'bogus'", ex.Message);
    }
}
