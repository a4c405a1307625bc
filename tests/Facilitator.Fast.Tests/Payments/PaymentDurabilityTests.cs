using System.Net;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>
/// Payment records on Redis with the append-only file: a <c>kill -9</c> of the service (the AOT binary) and then a
/// restart of Redis itself lose no verified or settled payment, and the settled one is not settled again.
/// </summary>
public sealed class PaymentDurabilityTests
{
    [Fact]
    public async Task KillServiceThenRestartRedis_VerifiedAndSettledPaymentsSurvive()
    {
        RepositoryPaths.RequireFreshAotBinary();
        var directory = Directory.CreateTempSubdirectory("facilitator-aof-");
        try
        {
            await using var redis = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always", "--dir", directory.FullName);
            await using var upstream = await UpstreamAsync();
            var prefix = $"test-{Guid.NewGuid():N}:";
            var port = LoopbackPorts.Free();
            string verifiedId, settledId;
            var verifiedPayment = Payment(501, 1);

            using (var service = ProcessRunner.Start(RepositoryPaths.AotBinary, [], Path.GetDirectoryName(RepositoryPaths.AotBinary)!, new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
                ["Upstreams__0__Id"] = "only",
                ["Upstreams__0__Url"] = upstream.Url,
                ["Redis__ConnectionString"] = redis.ConnectionString,
                ["Redis__KeyPrefix"] = prefix,
                ["FACILITATOR_HEALTH_CHECK"] = "false",
                ["RateLimit__Enabled"] = "false",
                ["Logging__LogLevel__Default"] = "Warning",
            }))
            {
                service.BeginOutputReadLine();
                service.BeginErrorReadLine();
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
                await Eventually.TrueAsync(async () => await LiveAsync(client), "the service answers", timeoutMs: 20_000);

                verifiedId = await IdOfAsync(await client.PostAsync("/v1/verify", Content(verifiedPayment)));
                settledId = await IdOfAsync(await client.PostAsync("/v1/verify", Content(Payment(501, 2))));
                using (var settled = await client.PostAsync("/v1/settle", Content($$"""{"paymentId":"{{settledId}}"}""")))
                {
                    Assert.Equal("settled", (await JsonOf(settled)).GetProperty("status").GetString());
                }

                service.Kill();
                await service.WaitForExitAsync();
            }

            await redis.StopAsync();
            await redis.StartAgainAsync();

            var settings = GatewayHost.Upstreams(("only", upstream.Url));
            settings["Redis:ConnectionString"] = redis.ConnectionString;
            settings["Redis:KeyPrefix"] = prefix;
            await using var survivor = await GatewayHost.StartAsync(settings);
            await Eventually.TrueAsync(
                async () =>
                {
                    using var status = await survivor.Client.GetAsync($"/v1/status/{verifiedId}");
                    return status.StatusCode == HttpStatusCode.OK;
                },
                "the restarted Redis answers with its records");

            using (var verified = await survivor.Client.GetAsync($"/v1/status/{verifiedId}"))
            {
                Assert.Equal("verified", (await JsonOf(verified)).GetProperty("payment").GetProperty("status").GetString());
            }

            using (var settled = await survivor.Client.GetAsync($"/v1/status/{settledId}"))
            {
                var payment = (await JsonOf(settled)).GetProperty("payment");
                Assert.Equal("settled", payment.GetProperty("status").GetString());
                Assert.Equal("0xfeed", payment.GetProperty("transaction").GetString());
            }

            using (var again = await SettleAsync(survivor, settledId))
            {
                Assert.Equal("settled", (await JsonOf(again)).GetProperty("status").GetString());
            }

            using (var now = await SettleAsync(survivor, verifiedId))
            {
                Assert.Equal("settled", (await JsonOf(now)).GetProperty("status").GetString());
            }

            Assert.Equal(2, upstream.CountOf("/settle"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static StringContent Content(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<string> IdOfAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await JsonOf(response)).GetProperty("paymentId").GetString()!;
        }
    }

    private static async Task<bool> LiveAsync(HttpClient client)
    {
        try
        {
            using var response = await client.GetAsync("/health/live");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }
}
