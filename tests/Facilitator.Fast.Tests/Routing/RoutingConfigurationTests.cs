using Facilitator.Fast.Routing;
using Microsoft.Extensions.Configuration;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>Configuration: the seed's environment variables, the <c>Upstreams</c> section, and what stops the start.</summary>
public sealed class RoutingConfigurationTests
{
    private static RoutingConfiguration Load(params (string Key, string? Value)[] settings) =>
        RoutingConfiguration.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build());

    [Fact]
    public void Load_Nothing_SeedDefaultsWithCdpDisabledForMissingCredentials()
    {
        var configuration = Load();

        Assert.Equal(["x402-rs", "payai-network", "coinbase-cdp"], configuration.Upstreams.Select(u => u.Id));
        Assert.Equal("https://facilitator.x402.rs/", configuration.Upstreams[0].BaseUri.ToString());
        Assert.True(configuration.Upstreams[0].Enabled);
        Assert.True(configuration.Upstreams[1].Enabled);
        Assert.False(configuration.Upstreams[2].Enabled);
        Assert.Contains("CDP_API_KEY_SECRET", configuration.Upstreams[2].DisabledReason);
        Assert.True(configuration.Aggregator.Enabled);
        Assert.Equal(5000, configuration.Aggregator.TimeoutMs);
        Assert.Equal(1, configuration.Aggregator.Retries);
        Assert.Equal(3, configuration.Aggregator.MaxConsecutiveFailures);
    }

    [Fact]
    public void Load_SeedVariables_AppliedToDefaultsAndNewEntries()
    {
        var configuration = Load(
            ("ENABLE_FACILITATOR_AGGREGATOR", "true"),
            ("FACILITATOR_1_URL", "http://127.0.0.1:7001"),
            ("FACILITATOR_2_ENABLED", "false"),
            ("FACILITATOR_3_ENABLED", "true"),
            ("CDP_API_KEY_ID", "id"),
            ("CDP_API_KEY_SECRET", Infrastructure.CdpTestKey.Ed25519().Secret),
            ("FACILITATOR_4_URL", "http://127.0.0.1:7004/base"),
            ("FACILITATOR_TIMEOUT_MS", "8000"),
            ("FACILITATOR_RETRIES", "2"),
            ("FACILITATOR_MAX_CONSECUTIVE_FAILURES", "5"),
            ("FACILITATOR_HEALTH_CHECK_INTERVAL_MS", "60000"),
            ("FACILITATOR_LOGGING", "true"));

        var byId = configuration.Upstreams.ToDictionary(u => u.Id);
        Assert.Equal("http://127.0.0.1:7001/", byId["facilitator-1"].BaseUri.ToString());
        Assert.False(byId["payai-network"].Enabled);
        Assert.True(byId["coinbase-cdp"].Enabled);
        Assert.Equal("http://127.0.0.1:7004/base/", byId["facilitator-4"].BaseUri.ToString());
        Assert.Equal(4, byId["facilitator-4"].Priority);
        Assert.Equal(TimeSpan.FromSeconds(8), byId["facilitator-4"].Timeout);
        Assert.Equal(2, byId["facilitator-1"].Retries);
        Assert.Equal(5, configuration.Aggregator.MaxConsecutiveFailures);
        Assert.Equal(60000, configuration.Aggregator.HealthCheckIntervalMs);
        Assert.True(configuration.Aggregator.Logging);
    }

    [Fact]
    public void Load_Nothing_PayAiSettleBudgetFitsItsReceiptWaitOthersTheDefault()
    {
        var configuration = Load();

        Assert.Equal(TimeSpan.FromMilliseconds(110_000), configuration.Upstreams[1].SettleTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(configuration.Aggregator.SettleTimeoutMs), configuration.Upstreams[0].SettleTimeout);
    }

    [Fact]
    public void Load_SettleTimeoutVariable_OverridesThatUpstreamsBudget()
    {
        var configuration = Load(("FACILITATOR_2_SETTLE_TIMEOUT_MS", "45000"), ("FACILITATOR_1_SETTLE_TIMEOUT_MS", "12000"));

        Assert.Equal(TimeSpan.FromSeconds(45), configuration.Upstreams[1].SettleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(12), configuration.Upstreams[0].SettleTimeout);
    }

    [Fact]
    public void Load_PayAiUrlPointedElsewhere_LosesPayAisBudget()
    {
        var configuration = Load(("FACILITATOR_2_URL", "http://127.0.0.1:9998"));

        Assert.Equal(TimeSpan.FromMilliseconds(configuration.Aggregator.SettleTimeoutMs), configuration.Upstreams[1].SettleTimeout);
    }

    [Fact]
    public void Load_PayAiMerchantVariables_SignTheSeedPayAiUpstream()
    {
        var seed = Convert.ToBase64String(Enumerable.Range(1, 32).Select(static i => (byte)i).ToArray());

        var configuration = Load(("PAYAI_MERCHANT_KEY_ID", "merchant-key-1"), ("PAYAI_MERCHANT_PRIVATE_KEY", seed));

        Assert.NotNull(configuration.Upstreams[1].Credentials);
        Assert.Equal("payai-merchant", configuration.Upstreams[1].Credentials!(TimeProvider.System).Kind);
        Assert.Null(configuration.Upstreams[0].Credentials);
    }

    [Theory]
    [InlineData("PAYAI_MERCHANT_KEY_ID", "only-the-id")]
    [InlineData("PAYAI_MERCHANT_PRIVATE_KEY", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")]
    public void Load_PayAiMerchantVariableAlone_StopsNamingTheOther(string key, string value)
    {
        var ex = Assert.Throws<InvalidSettingException>(() => Load((key, value)));

        Assert.Contains("PAYAI_MERCHANT_KEY_ID", ex.Message);
        Assert.DoesNotContain("AQIDBAUG", ex.Message);
    }

    [Fact]
    public void Load_PayAiMerchantBadKey_StopsWithoutShowingIt()
    {
        var ex = Assert.Throws<InvalidSettingException>(() => Load(("PAYAI_MERCHANT_KEY_ID", "k"), ("PAYAI_MERCHANT_PRIVATE_KEY", "bm90LWEta2V5LXNlY3JldA==")));

        Assert.DoesNotContain("bm90LWEta2V5", ex.Message);
    }

    [Fact]
    public void Load_SeedUrlPointedElsewhere_NoLongerCarriesTheSeedsId()
    {
        var configuration = Load(("FACILITATOR_1_URL", "http://127.0.0.1:9999"));

        var first = configuration.Upstreams[0];
        Assert.Equal("facilitator-1", first.Id);
        Assert.Equal("Facilitator 1", first.Name);
        Assert.Equal("http://127.0.0.1:9999/", first.BaseUri.ToString());
        Assert.Equal(["facilitator-1", "payai-network", "coinbase-cdp"], configuration.Upstreams.Select(u => u.Id));
    }

    [Theory]
    [InlineData("https://facilitator.x402.rs")]
    [InlineData("https://FACILITATOR.x402.rs/")]
    public void Load_SeedUrlSetToItsOwnUrl_KeepsTheSeedsId(string url)
    {
        var configuration = Load(("FACILITATOR_1_URL", url));

        Assert.Equal("x402-rs", configuration.Upstreams[0].Id);
        Assert.Equal("x402.rs", configuration.Upstreams[0].Name);
    }

    [Fact]
    public void Load_SeedUrlPointedElsewhereWithAnId_UsesThatId()
    {
        var configuration = Load(("FACILITATOR_1_URL", "http://127.0.0.1:9999"), ("FACILITATOR_1_ID", "in-house"), ("FACILITATOR_5_URL", "http://127.0.0.1:9995"), ("FACILITATOR_5_ID", "backup"));

        Assert.Equal("in-house", configuration.Upstreams[0].Id);
        Assert.Equal("in-house", configuration.Upstreams[0].Name);
        Assert.Equal("backup", configuration.Upstreams[^1].Id);
    }

    [Fact]
    public void Load_UpstreamsSectionUrlOverridden_KeepsTheSectionsId()
    {
        var configuration = Load(
            ("Upstreams:0:Id", "x402-rs"), ("Upstreams:0:Url", "https://facilitator.x402.rs"), ("FACILITATOR_1_URL", "http://127.0.0.1:9999"));

        Assert.Equal("x402-rs", configuration.Upstreams[0].Id);
        Assert.Equal("http://127.0.0.1:9999/", configuration.Upstreams[0].BaseUri.ToString());
    }

    [Fact]
    public void Load_UpstreamsSection_ReplacesDefaultsAndSortsByPriority()
    {
        var configuration = Load(
            ("Upstreams:0:Id", "slow"), ("Upstreams:0:Url", "http://127.0.0.1:7001"), ("Upstreams:0:Priority", "5"), ("Upstreams:0:TimeoutMs", "900"),
            ("Upstreams:1:Id", "fast"), ("Upstreams:1:Url", "http://127.0.0.1:7002"), ("Upstreams:1:Priority", "1"), ("Upstreams:1:Retries", "0"),
            ("Upstreams:2:Id", "off"), ("Upstreams:2:Url", "http://127.0.0.1:7003"), ("Upstreams:2:Enabled", "false"));

        Assert.Equal(["fast", "off", "slow"], configuration.Upstreams.Select(u => u.Id));
        Assert.Equal(TimeSpan.FromMilliseconds(900), configuration.Upstreams[2].Timeout);
        Assert.Equal(0, configuration.Upstreams[0].Retries);
        Assert.False(configuration.Upstreams[1].Enabled);
    }

    [Theory]
    [InlineData("FACILITATOR_1_URL", "not a url", "FACILITATOR_1_URL")]
    [InlineData("FACILITATOR_1_URL", "ftp://example.com", "FACILITATOR_1_URL")]
    [InlineData("FACILITATOR_1_URL", "https://user:pass@example.com", "FACILITATOR_1_URL")]
    [InlineData("FACILITATOR_TIMEOUT_MS", "-5", "FACILITATOR_TIMEOUT_MS")]
    [InlineData("FACILITATOR_TIMEOUT_MS", "soon", "FACILITATOR_TIMEOUT_MS")]
    [InlineData("FACILITATOR_RETRIES", "-1", "FACILITATOR_RETRIES")]
    [InlineData("FACILITATOR_MAX_CONSECUTIVE_FAILURES", "0", "FACILITATOR_MAX_CONSECUTIVE_FAILURES")]
    [InlineData("ENABLE_FACILITATOR_AGGREGATOR", "maybe", "ENABLE_FACILITATOR_AGGREGATOR")]
    [InlineData("Aggregator:TimeoutMs", "abc", "Aggregator:TimeoutMs")]
    [InlineData("Aggregator:MaxRequestBodyBytes", "10", "Aggregator:MaxRequestBodyBytes")]
    public void Load_InvalidSetting_OneLineNamingTheSetting(string key, string value, string named)
    {
        var ex = Assert.Throws<InvalidSettingException>(() => Load((key, value)));

        Assert.Contains(named, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Load_DuplicateId_Refused()
    {
        var ex = Assert.Throws<InvalidSettingException>(() => Load(
            ("Upstreams:0:Id", "same"), ("Upstreams:0:Url", "http://127.0.0.1:7001"),
            ("Upstreams:1:Id", "SAME"), ("Upstreams:1:Url", "http://127.0.0.1:7002")));

        Assert.Contains("Upstreams:1:Id", ex.Message);
    }

    [Fact]
    public void Load_NothingEnabled_Refused()
    {
        var ex = Assert.Throws<InvalidSettingException>(() => Load(("FACILITATOR_1_ENABLED", "false"), ("FACILITATOR_2_ENABLED", "false")));

        Assert.Contains("FACILITATOR_{N}_ENABLED", ex.Message);
    }

    [Fact]
    public void Load_UpstreamNegativeTimeout_Refused()
    {
        var ex = Assert.Throws<InvalidSettingException>(() => Load(
            ("Upstreams:0:Id", "a"), ("Upstreams:0:Url", "http://127.0.0.1:7001"), ("Upstreams:0:TimeoutMs", "-1")));

        Assert.Contains("Upstreams:0:TimeoutMs", ex.Message);
    }

    [Fact]
    public void Load_UnknownHeaderOperation_Refused()
    {
        var ex = Assert.Throws<InvalidSettingException>(() => Load(
            ("Upstreams:0:Url", "http://127.0.0.1:7001"), ("Upstreams:0:Headers:refund:X-A", "b")));

        Assert.Contains("Upstreams:0:Headers:refund", ex.Message);
    }
}
