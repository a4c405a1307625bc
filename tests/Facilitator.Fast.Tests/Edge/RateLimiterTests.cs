using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Token buckets per client and policy, their headers, and 429 with Retry-After.</summary>
public sealed class RateLimiterTests
{
    private static Dictionary<string, string?> Settings(FakeFacilitator upstream)
    {
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:verify:Capacity"] = "3";
        settings["RateLimit:Policies:verify:RefillPerSecond"] = "1";
        settings["RateLimit:Policies:settle:Capacity"] = "1";
        settings["RateLimit:Policies:settle:RefillPerSecond"] = "0.5";
        return settings;
    }

    [Fact]
    public async Task Verify_BeyondTheBucket_429WithRetryAfterAndHeaders()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var time = new ManualTimeProvider(SignedPayments.SignedAt);
        await using var gateway = await GatewayHost.StartAsync(Settings(upstream), time);

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await gateway.PostAsync("/verify", SignedPayments.V1));
        }

        Assert.Equal([200, 200, 200, 429], answers.Select(a => (int)a.StatusCode));
        Assert.Equal("3", Header(answers[0], "X-RateLimit-Limit"));
        Assert.Equal("2", Header(answers[0], "X-RateLimit-Remaining"));
        Assert.Equal("\"verify\";q=3;w=3", Header(answers[0], "RateLimit-Policy"));
        Assert.Equal("\"verify\";r=2;t=1", Header(answers[0], "RateLimit"));
        var refused = answers[3];
        Assert.Equal("1", Header(refused, "Retry-After"));
        Assert.Equal("0", Header(refused, "X-RateLimit-Remaining"));
        var body = Json(await refused.Content.ReadAsStringAsync());
        Assert.False(body.GetProperty("isValid").GetBoolean());
        Assert.Equal("unexpected_verify_error", body.GetProperty("invalidReason").GetString());
        Assert.StartsWith("Rate limited", body.GetProperty("invalidMessage").GetString());
        Assert.Equal(3, upstream.CountOf("/verify"));

        time.Advance(TimeSpan.FromSeconds(1));
        using var after = await gateway.PostAsync("/verify", SignedPayments.V1);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Settle_StricterPolicyThanVerify_CountedApart()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(upstream), new ManualTimeProvider(SignedPayments.SignedAt));

        using var firstSettle = await gateway.PostAsync("/settle", SignedPayments.V1);
        using var secondSettle = await gateway.PostAsync("/settle", SignedPayments.V1);
        using var verify = await gateway.PostAsync("/verify", SignedPayments.V1);

        Assert.Equal(HttpStatusCode.OK, firstSettle.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, secondSettle.StatusCode);
        Assert.Equal("2", Header(secondSettle, "Retry-After"));
        var body = Json(await secondSettle.Content.ReadAsStringAsync());
        Assert.False(body.GetProperty("success").GetBoolean());
        Assert.Equal("unexpected_settle_error", body.GetProperty("errorReason").GetString());
        Assert.Contains("Rate limited", body.GetProperty("errorMessage").GetString());
        Assert.Equal("", body.GetProperty("transaction").GetString());
        Assert.Equal(JsonValueKind.String, body.GetProperty("network").ValueKind);
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
    }

    [Fact]
    public async Task Api_BeyondTheBucket_429InTheApiErrorFormat()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = Settings(upstream);
        settings["RateLimit:Policies:api:Capacity"] = "1";
        settings["RateLimit:Policies:api:RefillPerSecond"] = "0.01";
        await using var gateway = await GatewayHost.StartAsync(settings, new ManualTimeProvider(SignedPayments.SignedAt));

        (await gateway.Client.GetAsync("/api/facilitator-status?include=health")).Dispose();
        using var refused = await gateway.Client.GetAsync("/api/facilitator-status?include=health");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(Header(refused, "Retry-After"));
        Assert.Equal("HTTP_429", Json(await refused.Content.ReadAsStringAsync()).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Clients_ApiKeyNamesHaveTheirOwnBuckets()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = Settings(upstream);
        settings["Auth:RequireForX402"] = "true";
        settings["Auth:ApiKeys:0:Name"] = "a";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData("key-a"u8));
        settings["Auth:ApiKeys:1:Name"] = "b";
        settings["Auth:ApiKeys:1:Sha256"] = Convert.ToHexStringLower(SHA256.HashData("key-b"u8));
        await using var gateway = await GatewayHost.StartAsync(settings, new ManualTimeProvider(SignedPayments.SignedAt));

        async Task<HttpStatusCode> SettleAsync(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/settle") { Content = new StringContent(SignedPayments.V1, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-API-Key", key);
            using var response = await gateway.Client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await SettleAsync("key-a"));
        Assert.Equal(HttpStatusCode.OK, await SettleAsync("key-b"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await SettleAsync("key-a"));
    }

    [Fact]
    public async Task Clients_OwnPolicyForOneKey_OnlyThatKeyLimitedByIt()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Auth:RequireForX402"] = "true";
        settings["Auth:ApiKeys:0:Name"] = "small";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData("key-small"u8));
        settings["Auth:ApiKeys:1:Name"] = "default";
        settings["Auth:ApiKeys:1:Sha256"] = Convert.ToHexStringLower(SHA256.HashData("key-default"u8));
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Clients:small:verify:Capacity"] = "2";
        settings["RateLimit:Clients:small:verify:RefillPerSecond"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings, new ManualTimeProvider(SignedPayments.SignedAt));

        async Task<(HttpStatusCode Status, string? Limit)> VerifyAsync(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/verify") { Content = new StringContent(SignedPayments.V1, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-API-Key", key);
            using var response = await gateway.Client.SendAsync(request);
            return (response.StatusCode, Header(response, "X-RateLimit-Limit"));
        }

        Assert.Equal((HttpStatusCode.OK, "2"), await VerifyAsync("key-small"));
        Assert.Equal((HttpStatusCode.OK, "2"), await VerifyAsync("key-small"));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await VerifyAsync("key-small")).Status);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal((HttpStatusCode.OK, "5000"), await VerifyAsync("key-default"));
        }
    }

    [Fact]
    public async Task Clients_PolicyThatDoesNotExist_StartStopsNamingTheSetting()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Clients:someone:verfy:Capacity"] = "2";
        settings["RateLimit:Clients:someone:verfy:RefillPerSecond"] = "1";

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(settings));
        Assert.Contains("RateLimit:Clients:someone:verfy", ex.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("verify", 2000, 1)]
    [InlineData("settle", 2000, 1)]
    [InlineData("v1", 2000, 3)]
    public void TryTake_DefaultPolicyOneAddressAtTwoThousandPaymentsPerSecondForTenSeconds_NeverRefused(string name, int paymentsPerSecond, int callsPerPayment)
    {
        var time = new ManualTimeProvider();
        var buckets = new LocalTokenBuckets(time, maxBuckets: 1000);
        var bucket = new RateLimitOptions().Policies[name];
        var policy = new RateLimitPolicy(name, bucket.Capacity, bucket.RefillPerSecond);
        var rate = paymentsPerSecond * callsPerPayment;
        var step = TimeSpan.FromTicks(TimeSpan.TicksPerSecond / rate);

        var refused = 0;
        for (var i = 0; i < rate * 10; i++)
        {
            refused += buckets.TryTake(policy, "203.0.113.7").Allowed ? 0 : 1;
            time.Advance(step);
        }

        Assert.Equal(0, refused);
    }

    [Fact]
    public void TryTake_DefaultVerifyPolicyFloodFromOneAddress_BoundedToItsRefill()
    {
        var time = new ManualTimeProvider();
        var buckets = new LocalTokenBuckets(time, maxBuckets: 1000);
        var bucket = new RateLimitOptions().Policies["verify"];
        var policy = new RateLimitPolicy("verify", bucket.Capacity, bucket.RefillPerSecond);

        var allowed = 0;
        for (var i = 0; i < 100_000; i++)
        {
            allowed += buckets.TryTake(policy, "203.0.113.8").Allowed ? 1 : 0;
            time.Advance(TimeSpan.FromTicks(TimeSpan.TicksPerSecond / 10_000));
        }

        // 10 s at 10,000/s: the burst plus 10 s of refill, not the flood.
        Assert.InRange(allowed, 25_000, bucket.Capacity + (int)(bucket.RefillPerSecond * 10) + 1);
    }

    [Fact]
    public async Task Health_NotLimited()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(upstream), new ManualTimeProvider());

        for (var i = 0; i < 20; i++)
        {
            using var response = await gateway.Client.GetAsync("/health/live");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Null(Header(response, "RateLimit"));
        }
    }

    [Fact]
    public void TryTake_ManyIdleClients_MemoryBounded()
    {
        var time = new ManualTimeProvider();
        var buckets = new LocalTokenBuckets(time, maxBuckets: 1000);
        var policy = new RateLimitPolicy("verify", 10, 10);

        for (var i = 0; i < 50_000; i++)
        {
            buckets.TryTake(policy, $"client-{i}");
            if (i % 1000 == 0)
            {
                time.Advance(TimeSpan.FromSeconds(11));
            }
        }

        Assert.True(buckets.Count <= 1000, $"{buckets.Count} buckets kept");
    }

    [Fact]
    public void TryTake_BeyondTheBoundWithBusyBuckets_LeastRecentlyUsedDroppedHardBound()
    {
        var time = new ManualTimeProvider();
        var buckets = new LocalTokenBuckets(time, maxBuckets: 1000);
        var policy = new RateLimitPolicy("settle", 1, 0.001);

        for (var i = 0; i < 5000; i++)
        {
            buckets.TryTake(policy, $"client-{i}");
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.True(buckets.Count <= 1000, $"{buckets.Count} buckets kept");
        Assert.False(buckets.TryTake(policy, "client-4999").Allowed);
    }

    [Fact]
    public void Sweep_RefillsEachBucketAtItsOwnPolicysRate()
    {
        var time = new ManualTimeProvider();
        var buckets = new LocalTokenBuckets(time, maxBuckets: 210);
        var settle = new RateLimitPolicy("settle", 1, 0.001);
        var verify = new RateLimitPolicy("verify", 10, 100);
        for (var i = 0; i < 200; i++)
        {
            buckets.TryTake(verify, $"idle-{i}");
        }

        time.Advance(TimeSpan.FromSeconds(11));
        Assert.True(buckets.TryTake(settle, "payer").Allowed);

        // Reaching the bound sweeps: the idle verify buckets are full and go; the drained settle bucket, refilled at
        // its own 0.001/s (not the 100/s of the request that triggered the sweep), must stay drained.
        for (var i = 0; i < 20; i++)
        {
            buckets.TryTake(verify, $"busy-{i}");
        }

        Assert.True(buckets.Count < 100);
        Assert.False(buckets.TryTake(settle, "payer").Allowed);
    }

    [Theory]
    [InlineData("2001:db8:1:2:aaaa::1", "2001:db8:1:2:bbbb::9")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")]
    public void AddressKey_SameHost_SameKey(string first, string second)
    {
        static string Key(string address)
        {
            var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
            context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse(address);
            return RateLimiter.AddressKey(context);
        }

        Assert.Equal(Key(first), Key(second));
    }
}
