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
    [InlineData("Redis:SettlementReplicas", "-1", "Redis:SettlementReplicas")]
    [InlineData("Redis:SettlementReplicas", "17", "Redis:SettlementReplicas")]
    [InlineData("Redis:SettlementReplicaTimeoutMs", "0", "Redis:SettlementReplicaTimeoutMs")]
    [InlineData("Redis:SettlementReplicaTimeoutMs", "2000", "Redis:SettlementReplicaTimeoutMs")]
    [InlineData("Redis:ShardedPubSub", "maybe", "Redis:ShardedPubSub")]
    public async Task Start_UnusableRedisSetting_OneLineNamingItWithoutThePassword(string key, string value, string named)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings[key] = value;
        if (key.StartsWith("Redis:", StringComparison.Ordinal) && key != "Redis:ConnectionString")
        {
            settings["Redis:ConnectionString"] = "127.0.0.1:1";
        }

        var ex = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

        Assert.Contains(named, ex.Message);
        Assert.DoesNotContain("hunter2", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void ConnectionString_ClusterSeedNodes_EveryNodeIsASeed()
    {
        var options = Facilitator.Fast.State.RedisConnection.ParseConfiguration("10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000,password=hunter2");

        Assert.Equal(3, options.EndPoints.Count);
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
