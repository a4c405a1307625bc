using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Tests.Events;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>
/// The limiter hands an allowed request its own task when the decision needed no wait (local buckets) and awaits the
/// decision otherwise (Redis buckets): limits, headers and refusals stay the same on both paths, an endpoint that throws
/// synchronously or faults still reaches the shield's 500, and a WebSocket held open outlives the limiter's part.
/// </summary>
public sealed class RateLimiterPassThroughReviewTests
{
    private const string ThrowingPath = "/v1/review/thrown-synchronously";
    private const string FaultingPath = "/v1/review/faulted-task";
    private const string Leaked = "review-secret-detail";

    /// <summary>The real service with two extra /v1 endpoints that fail (one throws before returning a task, one returns a faulted task) and a PUT /settle that throws.</summary>
    private static Task<ServiceWithExtraEndpoints> StartFailingAsync(Dictionary<string, string?> settings) =>
        ServiceWithExtraEndpoints.StartAsync(settings, app =>
        {
            app.MapGet(ThrowingPath, (RequestDelegate)(_ => throw new InvalidOperationException(Leaked)));
            app.MapGet(FaultingPath, (RequestDelegate)(_ => Task.FromException(new InvalidOperationException(Leaked))));
            app.MapPut("/settle", (RequestDelegate)(_ => throw new InvalidOperationException(Leaked)));
        });

    private static Dictionary<string, string?> Settings(FakeFacilitator upstream, RedisServer? redis)
    {
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:v1:Capacity"] = "4";
        settings["RateLimit:Policies:v1:RefillPerSecond"] = "0.001";
        settings["RateLimit:Policies:verify:Capacity"] = "100";
        settings["RateLimit:Policies:verify:RefillPerSecond"] = "100";
        if (redis is not null)
        {
            settings["Redis:ConnectionString"] = redis.ConnectionString;
            settings["Redis:KeyPrefix"] = $"rl-review-{Guid.NewGuid():N}:";

            // One token a lease: every decision asks Redis, so none completes without a wait.
            settings["RateLimit:LeaseSize"] = "1";
        }

        return settings;
    }

    private static void AssertInternalError(HttpResponseMessage response, string body)
    {
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("INTERNAL_ERROR", Json(body).GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain(Leaked, body, StringComparison.Ordinal);
        Assert.NotNull(Header(response, "X-Request-Id"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Limiter_EndpointThrowsSynchronouslyOrFaults_500InTheDocumentedShapeEachRequestCountedThen429(bool shared)
    {
        await using var redis = shared ? await RedisServer.StartAsync() : null;
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var host = await StartFailingAsync(Settings(upstream, redis));

        for (var i = 0; i < 4; i++)
        {
            using var response = await host.Client.GetAsync(i % 2 == 0 ? ThrowingPath : FaultingPath);
            AssertInternalError(response, await response.Content.ReadAsStringAsync());
        }

        using var refused = await host.Client.GetAsync(ThrowingPath);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("4", Header(refused, "X-RateLimit-Limit"));
        Assert.Equal("0", Header(refused, "X-RateLimit-Remaining"));
        Assert.NotNull(Header(refused, "X-RateLimit-Reset"));
        Assert.Equal("\"v1\";q=4;w=4000", Header(refused, "RateLimit-Policy"));
        Assert.NotNull(Header(refused, "RateLimit"));
        Assert.True(int.Parse(Header(refused, "Retry-After")!, CultureInfo.InvariantCulture) >= 1);
        var refusal = Json(await refused.Content.ReadAsStringAsync());
        Assert.Equal("HTTP_429", refusal.GetProperty("error").GetProperty("code").GetString());

        using var settle = await host.Client.PutAsync("/settle", new StringContent("{}", Encoding.UTF8, "application/json"));
        var settleBody = await settle.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, settle.StatusCode);
        Assert.False(Json(settleBody).GetProperty("success").GetBoolean());
        Assert.Equal("unexpected_settle_error", Json(settleBody).GetProperty("errorReason").GetString());
        Assert.DoesNotContain(Leaked, settleBody, StringComparison.Ordinal);

        using var verify = await host.Client.PostAsync("/verify", new StringContent(SignedPayments.V1, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        Assert.Equal("100", Header(verify, "X-RateLimit-Limit"));
        Assert.Equal("99", Header(verify, "X-RateLimit-Remaining"));
        Assert.Equal("\"verify\";q=100;w=1", Header(verify, "RateLimit-Policy"));
        Assert.Equal("\"verify\";r=99;t=1", Header(verify, "RateLimit"));
        using var live = await host.Client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Limiter_RedisStoppedMidRun_RefusalShapedAndHeadedOrLocalBucketsWithHeaders(bool failClosed)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = Settings(upstream, redis);
        settings["RateLimit:FailClosed"] = failClosed ? "true" : "false";
        await using var host = await StartFailingAsync(settings);
        using (var first = await host.Client.PostAsync("/verify", new StringContent(SignedPayments.V1, Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            Assert.Equal("99", Header(first, "X-RateLimit-Remaining"));
        }

        await redis.StopAsync();
        await Eventually.TrueAsync(
            async () => Json(await (await host.Client.GetAsync("/health")).Content.ReadAsStringAsync())
                .GetProperty("checks").GetProperty("redis").GetString()!.StartsWith("unreachable", StringComparison.Ordinal),
            "Redis is seen unreachable");

        using var verify = await host.Client.PostAsync("/verify", new StringContent(SignedPayments.V1, Encoding.UTF8, "application/json"));
        using var thrown = await host.Client.GetAsync(ThrowingPath);
        var verifyBody = await verify.Content.ReadAsStringAsync();
        var thrownBody = await thrown.Content.ReadAsStringAsync();
        Assert.Equal("100", Header(verify, "X-RateLimit-Limit"));
        Assert.Equal("\"verify\";q=100;w=1", Header(verify, "RateLimit-Policy"));
        if (failClosed)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, verify.StatusCode);
            Assert.Equal("1", Header(verify, "Retry-After"));
            Assert.Equal("0", Header(verify, "X-RateLimit-Remaining"));
            Assert.False(Json(verifyBody).GetProperty("isValid").GetBoolean());
            Assert.Equal("unexpected_verify_error", Json(verifyBody).GetProperty("invalidReason").GetString());
            Assert.Equal(HttpStatusCode.TooManyRequests, thrown.StatusCode);
            Assert.Equal("HTTP_429", Json(thrownBody).GetProperty("error").GetProperty("code").GetString());
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
            Assert.Null(Header(verify, "Retry-After"));
            Assert.Equal("99", Header(verify, "X-RateLimit-Remaining"));
            AssertInternalError(thrown, thrownBody);
        }
    }

    [Fact]
    public async Task Limiter_PreflightsAndRefusedCredentials_NeverSpendTheBucket()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:verify:Capacity"] = "2";
        settings["RateLimit:Policies:verify:RefillPerSecond"] = "0.001";
        settings["Edge:Cors:AllowedOrigins:0"] = "https://shop.example";
        settings["Auth:RequireForX402"] = "true";
        settings["Auth:ApiKeys:0:Name"] = "shop";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData("key-shop"u8));
        await using var gateway = await GatewayHost.StartAsync(settings);

        for (var i = 0; i < 5; i++)
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, "/verify");
            preflight.Headers.Add("Origin", "https://shop.example");
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "content-type,x-api-key");
            using var answer = await gateway.Client.SendAsync(preflight);
            Assert.True(answer.IsSuccessStatusCode, $"preflight answered {(int)answer.StatusCode}");
            Assert.Null(Header(answer, "RateLimit"));
        }

        for (var i = 0; i < 3; i++)
        {
            using var stranger = await gateway.PostAsync("/verify", SignedPayments.V1);
            Assert.Equal(HttpStatusCode.Unauthorized, stranger.StatusCode);
            Assert.Null(Header(stranger, "RateLimit"));
        }

        async Task<HttpResponseMessage> VerifyAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/verify") { Content = new StringContent(SignedPayments.V1, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-API-Key", "key-shop");
            return await gateway.Client.SendAsync(request);
        }

        using var first = await VerifyAsync();
        using var second = await VerifyAsync();
        using var third = await VerifyAsync();
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], new[] { first.StatusCode, second.StatusCode, third.StatusCode });
        Assert.Equal("1", Header(first, "X-RateLimit-Remaining"));
        Assert.Equal("0", Header(second, "X-RateLimit-Remaining"));
        Assert.NotNull(Header(third, "Retry-After"));
        Assert.Equal(2, upstream.CountOf("/verify"));
    }

    /// <summary>
    /// An upgrade is limited like any /v1 call: its 101 carries the headers, the socket keeps answering long after the
    /// limiter let it through (on the path that awaits Redis too), and an upgrade beyond the bucket is refused with 429.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Limiter_EventStreamUpgrade_101HeadedSocketOutlivesTheDecisionBeyondTheBucket429(bool shared)
    {
        await using var redis = shared ? await RedisServer.StartAsync() : null;
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = Settings(upstream, redis);
        settings["RateLimit:Policies:v1:Capacity"] = "2";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var first = await ConnectAsync(gateway);
        using var second = await ConnectAsync(gateway);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, first.HttpStatusCode);
        Assert.Equal("2", first.HttpResponseHeaders!["X-RateLimit-Limit"].Single());
        Assert.Equal("1", first.HttpResponseHeaders["X-RateLimit-Remaining"].Single());
        Assert.Equal("0", second.HttpResponseHeaders!["X-RateLimit-Remaining"].Single());

        Assert.Equal(HttpStatusCode.TooManyRequests, await EventStreamClient.RefusalAsync(gateway));

        foreach (var socket in new[] { first, second })
        {
            for (var i = 0; i < 3; i++)
            {
                await socket.SendAsync("""{"type":"ping"}"""u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
                await NextOfTypeAsync(socket, "pong");
            }
        }

        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        Assert.Equal(WebSocketState.Closed, first.State);
        Assert.Equal(WebSocketState.Open, second.State);
    }

    private static async Task<ClientWebSocket> ConnectAsync(GatewayHost gateway)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        socket.Options.CollectHttpResponseDetails = true;
        await socket.ConnectAsync(EventStreamClient.UriOf(gateway), CancellationToken.None);
        return socket;
    }

    private static async Task NextOfTypeAsync(ClientWebSocket socket, string type)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
                length += result.Count;
            }
            while (!result.EndOfMessage);

            Assert.Equal(WebSocketMessageType.Text, result.MessageType);
            if (JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.GetProperty("type").GetString() == type)
            {
                return;
            }
        }
    }

    [Fact]
    public async Task InvokeAsync_LocalDecisionAllowed_ReturnsTheRequestsOwnTaskAndRefusedWrites429()
    {
        var options = new RateLimitOptions();
        options.Policies["verify"] = new RateLimitOptions.BucketOptions { Capacity = 1, RefillPerSecond = 0.001 };
        var limiter = new RateLimiter(options, new ManualTimeProvider());
        var request = new TaskCompletionSource();
        var allowed = Context();

        var task = limiter.InvokeAsync(allowed, _ => request.Task);

        Assert.Same(request.Task, task);
        // A request let through gets its rate-limit headers when its answer starts (the real service's tests read them there).
        Assert.False(allowed.Response.Headers.ContainsKey("X-RateLimit-Remaining"));
        request.SetResult();

        var refused = Context();
        var called = false;
        await limiter.InvokeAsync(refused, _ =>
        {
            called = true;
            return Task.CompletedTask;
        });
        Assert.False(called);
        Assert.Equal(StatusCodes.Status429TooManyRequests, refused.Response.StatusCode);
        Assert.Equal("1000", refused.Response.Headers.RetryAfter.ToString());
        Assert.Equal(1, limiter.Refusals);

        var thrower = new RateLimiter(new RateLimitOptions(), new ManualTimeProvider());
        await Assert.ThrowsAsync<InvalidOperationException>(() => thrower.InvokeAsync(Context(), _ => throw new InvalidOperationException(Leaked)));
    }

    private static DefaultHttpContext Context()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/verify";
        context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.9");
        context.Response.Body = new MemoryStream();
        return context;
    }
}
