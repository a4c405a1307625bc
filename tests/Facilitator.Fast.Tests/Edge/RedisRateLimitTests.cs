using System.Net;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Shared token buckets in a real redis-server: one budget for the fleet, fewer commands than requests, local fallback.</summary>
public sealed class RedisRateLimitTests
{
    private static Dictionary<string, string?> Settings(RedisServer redis, FakeFacilitator upstream, int capacity, double refill, int lease)
    {
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Redis:ConnectionString"] = redis.ConnectionString;
        settings["Redis:KeyPrefix"] = $"rl-{Guid.NewGuid():N}:";
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:verify:Capacity"] = capacity.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["RateLimit:Policies:verify:RefillPerSecond"] = refill.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["RateLimit:LeaseSize"] = lease.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["RateLimit:LeaseMs"] = "60000";
        return settings;
    }

    [Fact]
    public async Task TwoInstances_ShareOneBudget_AdmitAtMostItLessAtMostTheUnspentLeases()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = Settings(redis, upstream, capacity: 40, refill: 0.001, lease: 5);
        await using var a = await GatewayHost.StartAsync(settings);
        await using var b = await GatewayHost.StartAsync(settings);

        var admitted = 0;
        for (var i = 0; i < 120; i++)
        {
            using var response = await (i % 2 == 0 ? a : b).PostAsync("/verify", SignedPayments.V1);
            admitted += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        Assert.InRange(admitted, 40 - (2 * 4), 40);
        Assert.Equal(admitted, upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task Lease_SustainedLoad_FarFewerRedisCommandsThanDecisions()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream, capacity: 1000, refill: 1000, lease: 10));
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        await server.ExecuteAsync("CONFIG", "RESETSTAT");

        for (var i = 0; i < 300; i++)
        {
            (await gateway.PostAsync("/verify", SignedPayments.V1)).Dispose();
        }

        var scripts = ScriptCalls(await server.InfoRawAsync("commandstats") ?? "");
        Assert.InRange(scripts, 25, 40);
        Assert.Equal(scripts, gateway.Services.GetRequiredService<RateLimiter>().SharedScriptCalls);
    }

    [Theory]
    [InlineData(false, HttpStatusCode.OK)]
    [InlineData(true, HttpStatusCode.TooManyRequests)]
    public async Task Redis_StoppedDuringARun_LocalBucketsOrRefusalAndFallbacksShown(bool failClosed, HttpStatusCode expected)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = Settings(redis, upstream, capacity: 100, refill: 100, lease: 1);
        settings["RateLimit:FailClosed"] = failClosed ? "true" : "false";
        await using var gateway = await GatewayHost.StartAsync(settings);
        (await gateway.PostAsync("/verify", SignedPayments.V1)).Dispose();

        await redis.StopAsync();
        await Eventually.TrueAsync(async () => Json(await (await gateway.Client.GetAsync("/health")).Content.ReadAsStringAsync())
            .GetProperty("checks").GetProperty("redis").GetString()!.StartsWith("unreachable", StringComparison.Ordinal), "Redis is seen unreachable");
        using var response = await gateway.PostAsync("/verify", SignedPayments.V1);

        Assert.Equal(expected, response.StatusCode);
        var checks = Json(await (await gateway.Client.GetAsync("/health")).Content.ReadAsStringAsync()).GetProperty("checks");
        Assert.True(long.Parse(checks.GetProperty("redisFallbacks").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task Redis_Hung_DecisionsFailFastOnLocalBucketsThenReturnToTheSharedOnes()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream, capacity: 100_000, refill: 100_000, lease: 1));
        var limiter = gateway.Services.GetRequiredService<RateLimiter>();
        for (var i = 0; i < 20; i++)
        {
            (await gateway.PostAsync("/verify", SignedPayments.V1)).Dispose();
        }

        await redis.PauseAsync();
        try
        {
            // The first verify waits for the Redis timeout; after it, decisions do not wait on Redis.
            for (var i = 0; i < 2; i++)
            {
                using var first = await gateway.PostAsync("/verify", SignedPayments.V1);
                Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            }

            var durations = new List<double>();
            for (var i = 0; i < 50; i++)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                using var response = await gateway.PostAsync("/verify", SignedPayments.V1);
                durations.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            durations.Sort();
            var p99 = durations[(int)Math.Ceiling(durations.Count * 0.99) - 1];
            Assert.True(p99 < 50, $"p99 {p99:0.0} ms while Redis hangs (all: {string.Join(", ", durations.Select(d => d.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))})");
            var health = Json(await (await gateway.Client.GetAsync("/health")).Content.ReadAsStringAsync());
            Assert.Equal("degraded", health.GetProperty("status").GetString());
            Assert.StartsWith("not answering in time", health.GetProperty("checks").GetProperty("redis").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await redis.ResumeAsync();
        }

        var scripts = limiter.SharedScriptCalls;
        await Eventually.TrueAsync(
            async () =>
            {
                (await gateway.PostAsync("/verify", SignedPayments.V1)).Dispose();
                var checks = Json(await (await gateway.Client.GetAsync("/health")).Content.ReadAsStringAsync()).GetProperty("checks");
                return checks.GetProperty("redis").GetString() == "ok" && limiter.SharedScriptCalls > scripts;
            },
            "decisions are shared through Redis again",
            timeoutMs: 45_000);
    }

    [Fact]
    public async Task Script_FlushedFromRedisMidRun_ReloadedAndDecisionsStayShared()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(redis, upstream, capacity: 5, refill: 0.001, lease: 1));
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServer(admin.GetEndPoints()[0]);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            if (i == 3)
            {
                await server.ExecuteAsync("SCRIPT", "FLUSH");
            }

            using var response = await gateway.PostAsync("/verify", SignedPayments.V1);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Equal(0, gateway.Services.GetRequiredService<Facilitator.Fast.State.RedisConnection>().Fallbacks);
    }

    /// <summary>
    /// Script executions Redis answered without an error: an <c>EVALSHA</c> refused with <c>NOSCRIPT</c> (the client then
    /// sends the script again) is one of Redis's calls but not one of the gateway's.
    /// </summary>
    private static long ScriptCalls(string commandStats)
    {
        long calls = 0;
        foreach (var line in commandStats.Split('\n'))
        {
            if (line.StartsWith("cmdstat_evalsha:", StringComparison.Ordinal) || line.StartsWith("cmdstat_eval:", StringComparison.Ordinal))
            {
                calls += Stat(line, "calls=") - Stat(line, "failed_calls=");
            }
        }

        return calls;
    }

    private static long Stat(string line, string name)
    {
        var at = line.IndexOf("," + name, StringComparison.Ordinal) is >= 0 and var found ? found + 1 : line.IndexOf(':', StringComparison.Ordinal) + 1;
        if (!line.AsSpan(at).StartsWith(name, StringComparison.Ordinal))
        {
            return 0;
        }

        var start = at + name.Length;
        var end = line.IndexOfAny([',', '\r'], start);
        return long.Parse(line[start..(end < 0 ? line.Length : end)], System.Globalization.CultureInfo.InvariantCulture);
    }
}
