using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>
/// Review of the limiter writing an allowed request's rate-limit headers when its answer starts (a Response.OnStarting
/// callback, commit c746349): answers that start early, late, empty or never; headers a handler sets under the same
/// names; local and Redis buckets; the shield's 500 on /verify, /settle and /v1; the gate's refusals; x402 answers
/// (409, the ledger's 503, 413); and what an idle WebSocket keeps.
/// </summary>
public sealed class RateLimitHeadersAtStartReviewTests
{
    private const string Origin = "https://dashboard.example.com";
    private const string Elsewhere = "https://evil.example.net";
    private const string Leaked = "review-leak-s24b";

    private static Dictionary<string, string?> Settings(FakeFacilitator upstream, RedisServer? redis)
    {
        var settings = redis is null ? GatewayHost.Upstreams(("only", upstream.Url)) : redis.GatewaySettings(("only", upstream.Url));
        settings["Edge:Cors:AllowedOrigins:0"] = Origin;
        settings["RateLimit:Enabled"] = "true";
        settings["RateLimit:Policies:v1:Capacity"] = "100";
        settings["RateLimit:Policies:v1:RefillPerSecond"] = "0.001";
        settings["RateLimit:Policies:verify:Capacity"] = "100";
        settings["RateLimit:Policies:verify:RefillPerSecond"] = "0.001";
        settings["RateLimit:Policies:settle:Capacity"] = "100";
        settings["RateLimit:Policies:settle:RefillPerSecond"] = "0.001";
        if (redis is not null)
        {
            // Every decision asks Redis: the limiter's awaiting path.
            settings["RateLimit:LeaseSize"] = "1";
        }

        return settings;
    }

    /// <summary>Endpoints whose answers start in unusual ways, and ones that fail.</summary>
    private static void MapOddEndpoints(WebApplication app)
    {
        app.MapGet("/v1/review/start-early", (RequestDelegate)(async context =>
        {
            await context.Response.StartAsync();
            var refused = 0;
            foreach (var name in new[] { "X-RateLimit-Remaining", "RateLimit" })
            {
                try
                {
                    context.Response.Headers[name] = "handler";
                }
                catch (InvalidOperationException)
                {
                    refused++;
                }
            }

            await context.Response.WriteAsync("refused=" + refused.ToString(CultureInfo.InvariantCulture));
        }));
        app.MapGet("/v1/review/flush-early", (RequestDelegate)(async context =>
        {
            await context.Response.WriteAsync("first;");
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync("second");
        }));
        app.MapGet("/v1/review/no-content", (RequestDelegate)(context =>
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }));
        app.MapGet("/v1/review/not-modified", (RequestDelegate)(context =>
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            context.Response.Headers.ETag = "\"v1\"";
            return Task.CompletedTask;
        }));
        app.MapGet("/v1/review/nothing", (RequestDelegate)(_ => Task.CompletedTask));
        app.MapMethods("/v1/review/head", ["HEAD"], (RequestDelegate)(context =>
        {
            context.Response.ContentLength = 42;
            return Task.CompletedTask;
        }));
        app.MapGet("/v1/review/overwrites", (RequestDelegate)(context =>
        {
            // Under the limiter's names, in other spellings and appended: the limiter's single values must win.
            context.Response.Headers.Append("X-RateLimit-Limit", "7");
            context.Response.Headers.Append("x-ratelimit-limit", "8");
            context.Response.Headers["x-ratelimit-remaining"] = "999";
            context.Response.Headers.Append("ratelimit", "\"handler\";r=999;t=0");
            context.Response.Headers["RATELIMIT-POLICY"] = "\"handler\";q=999;w=1";
            context.Response.Headers["X-RateLimit-Reset"] = "0";
            return context.Response.WriteAsync("ok");
        }));
        app.MapGet("/v1/review/throws", (RequestDelegate)(context =>
        {
            context.Response.Headers["X-Half-Made"] = "by the handler";
            context.Response.Headers["X-RateLimit-Remaining"] = "999";
            context.Response.Headers["Access-Control-Allow-Origin"] = "*";
            throw new InvalidOperationException(Leaked);
        }));
        app.MapGet("/v1/review/throws-after-await", (RequestDelegate)(async context =>
        {
            context.Response.Headers["X-Half-Made"] = "by the handler";
            await Task.Yield();
            throw new InvalidOperationException(Leaked);
        }));
        app.MapPut("/settle", (RequestDelegate)(context =>
        {
            context.Response.Headers["X-Half-Made"] = "by the handler";
            context.Response.Headers.RetryAfter = "99";
            throw new InvalidOperationException(Leaked);
        }));
        app.MapPut("/verify", (RequestDelegate)(_ => throw new InvalidOperationException(Leaked)));
    }

    /// <summary>The five headers, each once, agreeing with each other for the policy and the tokens left.</summary>
    private static void AssertLimited(HttpResponseMessage response, string policy, int capacity, int remaining)
    {
        Assert.Equal(capacity.ToString(CultureInfo.InvariantCulture), Header(response, "X-RateLimit-Limit"));
        Assert.Equal(remaining.ToString(CultureInfo.InvariantCulture), Header(response, "X-RateLimit-Remaining"));
        Assert.True(long.TryParse(Header(response, "X-RateLimit-Reset"), CultureInfo.InvariantCulture, out var reset) && reset > 1_700_000_000, Header(response, "X-RateLimit-Reset"));
        Assert.StartsWith($"\"{policy}\";q={capacity};w=", Header(response, "RateLimit-Policy"), StringComparison.Ordinal);
        Assert.StartsWith($"\"{policy}\";r={remaining};t=", Header(response, "RateLimit"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Limiter_AnswersThatStartEarlyLateEmptyOrHead_EachCarriesTheFiveHeadersOnce(bool shared)
    {
        await using var redis = shared ? await RedisServer.StartAsync() : null;
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var host = await ServiceWithExtraEndpoints.StartAsync(Settings(upstream, redis), MapOddEndpoints);

        using (var early = await host.Client.GetAsync("/v1/review/start-early"))
        {
            Assert.Equal(HttpStatusCode.OK, early.StatusCode);
            AssertLimited(early, "v1", 100, 99);
            Assert.Equal("refused=2", await early.Content.ReadAsStringAsync()); // after the start, the headers are sealed
        }

        using (var flushed = await host.Client.GetAsync("/v1/review/flush-early"))
        {
            AssertLimited(flushed, "v1", 100, 98);
            Assert.Equal("first;second", await flushed.Content.ReadAsStringAsync());
        }

        using (var noContent = await host.Client.GetAsync("/v1/review/no-content"))
        {
            Assert.Equal(HttpStatusCode.NoContent, noContent.StatusCode);
            AssertLimited(noContent, "v1", 100, 97);
        }

        using (var notModified = await host.Client.GetAsync("/v1/review/not-modified"))
        {
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            AssertLimited(notModified, "v1", 100, 96);
        }

        using (var nothing = await host.Client.GetAsync("/v1/review/nothing"))
        {
            Assert.Equal(HttpStatusCode.OK, nothing.StatusCode);
            AssertLimited(nothing, "v1", 100, 95);
        }

        using (var head = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/review/head")))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            AssertLimited(head, "v1", 100, 94);
        }

        using (var overwritten = await host.Client.GetAsync("/v1/review/overwrites"))
        {
            AssertLimited(overwritten, "v1", 100, 93); // Header() is Single(): a second value fails here
            Assert.NotEqual("0", Header(overwritten, "X-RateLimit-Reset"));
        }

        // HEAD on a shipped GET endpoint as well (whatever it answers, it is headed by the limiter once).
        using var status = await host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/status"));
        AssertLimited(status, "v1", 100, 92);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Shield_HandlersFailOnV1VerifyAndSettle_500HasLimiterHeadersCorsForAllowedOriginOnlyNoHandlerHeaders(bool shared)
    {
        await using var redis = shared ? await RedisServer.StartAsync() : null;
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var host = await ServiceWithExtraEndpoints.StartAsync(Settings(upstream, redis), MapOddEndpoints);

        async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpMethod method, string path, string origin)
        {
            var request = new HttpRequestMessage(method, path);
            if (method != HttpMethod.Get)
            {
                request.Content = new StringContent(PaymentSigner.ValidNow(1, seed: 43), Encoding.UTF8, "application/json");
            }

            request.Headers.Add("Origin", origin);
            var response = await host.Client.SendAsync(request);
            return (response, await response.Content.ReadAsStringAsync());
        }

        var v1Remaining = 100;
        foreach (var path in new[] { "/v1/review/throws", "/v1/review/throws-after-await" })
        {
            foreach (var origin in new[] { Origin, Elsewhere })
            {
                var (response, body) = await SendAsync(HttpMethod.Get, path, origin);
                using (response)
                {
                    Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
                    Assert.Equal("INTERNAL_ERROR", Json(body).GetProperty("error").GetProperty("code").GetString());
                    Assert.DoesNotContain(Leaked, body, StringComparison.Ordinal);
                    Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
                    AssertLimited(response, "v1", 100, --v1Remaining);
                    Assert.Null(Header(response, "X-Half-Made"));
                    Assert.NotNull(Header(response, "X-Request-Id"));
                    Assert.Equal(origin == Origin ? Origin : null, Header(response, "Access-Control-Allow-Origin"));
                }
            }
        }

        var settleRemaining = 100;
        var verifyRemaining = 100;
        foreach (var (path, policy, verdict, reason) in new[] { ("/settle", "settle", "success", "unexpected_settle_error"), ("/verify", "verify", "isValid", "unexpected_verify_error") })
        {
            foreach (var origin in new[] { Origin, Elsewhere })
            {
                var (response, body) = await SendAsync(HttpMethod.Put, path, origin);
                using (response)
                {
                    Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
                    var json = Json(body);
                    Assert.False(json.GetProperty(verdict).GetBoolean());
                    Assert.Contains(reason, body, StringComparison.Ordinal);
                    Assert.DoesNotContain(Leaked, body, StringComparison.Ordinal);
                    AssertLimited(response, policy, 100, policy == "settle" ? --settleRemaining : --verifyRemaining);
                    Assert.Null(Header(response, "X-Half-Made"));
                    Assert.Null(Header(response, "Retry-After"));
                    Assert.Equal(origin == Origin ? Origin : null, Header(response, "Access-Control-Allow-Origin"));
                    if (origin == Elsewhere)
                    {
                        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
                        Assert.Null(Header(response, "Access-Control-Expose-Headers"));
                    }
                }
            }
        }

        Assert.Equal(0, upstream.CountOf("/settle") + upstream.CountOf("/verify"));
    }

    [Fact]
    public async Task X402_ConflictTooLargeAndLedgerUnavailable_CarryTheLimiterHeadersAndKeepRetryAfter()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, """{"isValid":true,"payer":"0x0000000000000000000000000000000000000001"}""");
        upstream.Answer("/settle", 200, """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""");
        var settings = Settings(upstream, redis);
        settings["RateLimit:FailClosed"] = "false";
        settings["Aggregator:MaxRequestBodyBytes"] = "4096";
        await using var host = await ServiceWithExtraEndpoints.StartAsync(settings, _ => { });

        Task<HttpResponseMessage> PostAsync(string path, string json) =>
            host.Client.PostAsync(path, new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));

        using (var first = await PostAsync("/verify", Settlement.PaymentIdentifierTests.WithIdentifier(21, id: "pay_5e4b0000000000000000000000000001")))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            AssertLimited(first, "verify", 100, 99);
        }

        using (var conflict = await PostAsync("/verify", Settlement.PaymentIdentifierTests.WithIdentifier(22, id: "pay_5e4b0000000000000000000000000001")))
        {
            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
            AssertLimited(conflict, "verify", 100, 98);
        }

        using (var tooLarge = await PostAsync("/verify", "{\"pad\":\"" + new string('a', 8192) + "\"}"))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
            Assert.False(Json(await tooLarge.Content.ReadAsStringAsync()).GetProperty("isValid").GetBoolean());
            AssertLimited(tooLarge, "verify", 100, 97);
        }

        // The ledger away (Redis stopped): the settle is refused 503 with its own Retry-After, and the limiter's
        // headers (from the local buckets now, failing open) are still there, once each.
        await redis.StopAsync();
        await Eventually.TrueAsync(
            async () => Json(await (await host.Client.GetAsync("/health")).Content.ReadAsStringAsync()).GetProperty("status").GetString() == "degraded",
            "the instance sees Redis away");
        using var settle = await PostAsync("/settle", PaymentSigner.ValidNow(3, seed: 44));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, settle.StatusCode);
        Assert.Equal("1", Header(settle, "Retry-After"));
        Assert.Equal("100", Header(settle, "X-RateLimit-Limit"));
        Assert.NotNull(Header(settle, "X-RateLimit-Remaining"));
        Assert.NotNull(Header(settle, "RateLimit"));
        Assert.StartsWith("\"settle\";q=100;w=", Header(settle, "RateLimit-Policy"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gate_UnauthorizedAndAuthFailure429_AnsweredBeforeTheLimiterWithoutItsHeaders()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = Settings(upstream, null);
        settings["Auth:RequireForX402"] = "true";
        settings["Auth:ApiKeys:0:Name"] = "shop";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData("key-shop"u8));
        await using var host = await ServiceWithExtraEndpoints.StartAsync(settings, _ => { });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 25; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/verify") { Content = new StringContent(SignedPayments.V1, Encoding.UTF8, "application/json") };
            request.Headers.Add("X-API-Key", "wrong-key-" + i.ToString(CultureInfo.InvariantCulture));
            using var refused = await host.Client.SendAsync(request);
            statuses.Add(refused.StatusCode);
            Assert.Null(Header(refused, "RateLimit"));
            Assert.Null(Header(refused, "X-RateLimit-Remaining"));
        }

        Assert.Contains(HttpStatusCode.Unauthorized, statuses);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);

        using var good = new HttpRequestMessage(HttpMethod.Post, "/verify") { Content = new StringContent(SignedPayments.V1, Encoding.UTF8, "application/json") };
        good.Headers.Add("X-API-Key", "key-shop");
        using var allowed = await host.Client.SendAsync(good);
        AssertLimited(allowed, "verify", 100, 99);
    }

    [Fact]
    public async Task Limiter_ClientAbortsBeforeTheAnswerStartsAndHandlerAborts_TokensCountedServiceAnswersHeaded()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawAbort = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await ServiceWithExtraEndpoints.StartAsync(Settings(upstream, null), app =>
        {
            app.MapGet("/v1/review/hangs", (RequestDelegate)(async context =>
            {
                entered.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    sawAbort.TrySetResult();
                    throw;
                }
            }));
            app.MapGet("/v1/review/aborts", (RequestDelegate)(context =>
            {
                context.Abort();
                return Task.CompletedTask;
            }));
            app.MapGet("/v1/review/ok", (RequestDelegate)(context => context.Response.WriteAsync("ok")));
        });

        using (var cancel = new CancellationTokenSource())
        {
            var pending = host.Client.GetAsync("/v1/review/hangs", cancel.Token);
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
            await sawAbort.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => host.Client.GetAsync("/v1/review/aborts"));

        using var ok = await host.Client.GetAsync("/v1/review/ok");
        Assert.Equal("ok", await ok.Content.ReadAsStringAsync());
        AssertLimited(ok, "v1", 100, 97);
    }

    /// <summary>
    /// What an OnStarting callback's state costs a WebSocket held open: Kestrel lets go of the callbacks once the 101 is
    /// out, so the state (the limiter's tuple, here a test's own object registered the same way beside it) is collectable
    /// while the socket stays open for as long as it likes.
    /// </summary>
    [Fact]
    public async Task Limiter_IdleWebSocketHeldOpen_OnStartingStateIsReleasedAfterThe101()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        WeakReference? state = null;
        var upgraded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await ServiceWithExtraEndpoints.StartAsync(Settings(upstream, null), app =>
        {
            app.UseWebSockets();
            app.Map("/v1/review/ws", (RequestDelegate)(async context =>
            {
                Register(context.Response, out state);
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                upgraded.TrySetResult();
                var buffer = new byte[16];
                while ((await socket.ReceiveAsync(buffer, context.RequestAborted)).MessageType != WebSocketMessageType.Close)
                {
                }

                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
            }));
        });

        using var client = new ClientWebSocket();
        client.Options.KeepAliveInterval = TimeSpan.Zero;
        client.Options.CollectHttpResponseDetails = true;
        await client.ConnectAsync(new Uri(host.BaseUri.ToString().Replace("http", "ws", StringComparison.Ordinal) + "v1/review/ws"), CancellationToken.None);
        await upgraded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("99", client.HttpResponseHeaders!["X-RateLimit-Remaining"].Single());

        await Eventually.TrueAsync(
            () =>
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                return !state!.IsAlive;
            },
            "the OnStarting state of the open socket's request is collected");
        Assert.Equal(WebSocketState.Open, client.State);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        static void Register(HttpResponse response, out WeakReference weak)
        {
            var payload = new byte[4096];
            weak = new WeakReference(payload);
            response.OnStarting(static s => Task.CompletedTask, payload);
        }
    }

    /// <summary>
    /// X-RateLimit-Reset is an instant: when the bucket is full again, which the decision fixed. Written when the answer
    /// starts, it is computed from the clock then, so a handler that takes an hour (on the service's clock) moves the
    /// advertised instant an hour later, while RateLimit's relative t= and Remaining still describe the decision.
    /// </summary>
    [Fact]
    public async Task Limiter_HandlerRunsWhileTheClockMoves_ResetIsTheDecisionsInstantNotTheStartsPlusUntilFull()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        var time = new ManualTimeProvider();
        var decidedAt = time.GetUtcNow().ToUnixTimeSeconds();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var settings = Settings(upstream, null);
        settings["RateLimit:Policies:v1:Capacity"] = "10";
        settings["RateLimit:Policies:v1:RefillPerSecond"] = "1";
        await using var host = await ServiceWithExtraEndpoints.StartAsync(settings, app => app.MapGet("/v1/review/slow", (RequestDelegate)(async context =>
        {
            entered.TrySetResult();
            await release.Task;
            await context.Response.WriteAsync("done");
        })), time);

        var pending = host.Client.GetAsync("/v1/review/slow");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromHours(1));
        release.SetResult();
        using var response = await pending;

        Assert.Equal("9", Header(response, "X-RateLimit-Remaining"));
        Assert.Equal("\"v1\";r=9;t=1", Header(response, "RateLimit"));
        // One token was taken at decidedAt with a refill of one a second: full again at decidedAt + 1.
        Assert.Equal((decidedAt + 1).ToString(CultureInfo.InvariantCulture), Header(response, "X-RateLimit-Reset"));
    }
}
