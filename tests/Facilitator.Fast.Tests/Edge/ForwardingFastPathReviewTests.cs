using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Collections.Concurrent;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>
/// Adversarial review of the forwarding fast path: pass-through authentication and limits without state machines, the
/// exception shield and status pages in one frame, the WebSocket middleware only on the stream's path, request ids
/// without a random draw, byte-exact forwarding and counting under concurrency.
/// </summary>
public sealed partial class ForwardingFastPathReviewTests
{
    private const string Key = "ff_live_review_speed_4b1d";
    private const string Valid = """{"isValid":true,"payer":"0x0000000000000000000000000000000000000001"}""";

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex MadeId();

    private static Dictionary<string, string?> WithKey(FakeFacilitator upstream, bool requireForX402 = false)
    {
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Auth:ApiKeys:0:Name"] = "merchant";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        settings["Auth:RequireForX402"] = requireForX402 ? "true" : "false";
        return settings;
    }

    private static async Task<HttpResponseMessage> SendAsync(GatewayHost gateway, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (method == HttpMethod.Post)
        {
            request.Content = new StringContent(SignedPayments.V2, Encoding.UTF8, "application/json");
        }

        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await gateway.Client.SendAsync(request);
    }

    /// <summary>300 concurrent requests: 300 distinct made ids of 32 lower-case hex digits; an error body names the header's id.</summary>
    [Fact]
    public async Task RequestIds_Concurrent_DistinctAndEchoedInErrorBodies()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        var ids = await Task.WhenAll(Enumerable.Range(0, 300).Select(async i =>
        {
            using var response = await gateway.Client.GetAsync(i % 2 == 0 ? "/health/live" : "/no-such-route-" + i);
            var id = Header(response, "X-Request-Id")!;
            if (i % 2 == 1)
            {
                Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                var body = Json(await response.Content.ReadAsStringAsync());
                Assert.Equal("NOT_FOUND", body.GetProperty("error").GetProperty("code").GetString());
                Assert.Equal(id, body.GetProperty("requestId").GetString());
            }

            return id;
        }));

        Assert.All(ids, id => Assert.Matches(MadeId(), id));
        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    /// <summary>A caller's sane id is kept; two ids (or an insane one) are replaced by a made one, never echoed.</summary>
    [Fact]
    public async Task RequestIds_SuppliedTwiceOrInsane_Replaced()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var kept = await SendAsync(gateway, HttpMethod.Get, "/health/live", ("X-Request-Id", "caller-id-1"));
        using var twice = await SendAsync(gateway, HttpMethod.Get, "/health/live", ("X-Request-Id", "a1"), ("X-Request-Id", "b2"));
        using var insane = await SendAsync(gateway, HttpMethod.Get, "/health/live", ("X-Request-Id", "<script>"));

        Assert.Equal("caller-id-1", Header(kept, "X-Request-Id"));
        Assert.Matches(MadeId(), Header(twice, "X-Request-Id")!);
        Assert.Matches(MadeId(), Header(insane, "X-Request-Id")!);
    }

    /// <summary>Errors without a body (unknown route, wrong method) still get the API error body in the merged frame.</summary>
    [Theory]
    [InlineData("GET", "/nowhere", 404, "NOT_FOUND")]
    [InlineData("GET", "/verify", 405, "HTTP_405")]
    [InlineData("DELETE", "/health/live", 405, "HTTP_405")]
    [InlineData("PUT", "/api/facilitator-status", 405, "HTTP_405")]
    [InlineData("GET", "/v1/nothing/here", 404, "NOT_FOUND")]
    public async Task StatusPages_BodilessErrors_ApiErrorShape(string method, string path, int status, string code)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await SendAsync(gateway, new HttpMethod(method), path);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(Header(response, "X-Request-Id"), body.GetProperty("requestId").GetString());
    }

    /// <summary>Every protected route group refuses a request without credentials 401 (JSON, never 500), and lets the key through.</summary>
    [Theory]
    [InlineData("GET", "/api/facilitator-status")]
    [InlineData("GET", "/API/Facilitator-Status")]
    [InlineData("GET", "/v1/status/pay_000000000000000000")]
    [InlineData("POST", "/v1/verify")]
    [InlineData("GET", "/v1/status")]
    [InlineData("GET", "/ws")]
    [InlineData("GET", "/WS/")]
    [InlineData("POST", "/verify")]
    [InlineData("POST", "/settle")]
    [InlineData("GET", "/supported")]
    public async Task Auth_ProtectedRoutesWithoutCredentials_401NeverServed(string method, string path)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 200, Valid);
        await using var gateway = await GatewayHost.StartAsync(WithKey(upstream, requireForX402: true));

        using var none = await SendAsync(gateway, new HttpMethod(method), path);
        using var wrong = await SendAsync(gateway, new HttpMethod(method), path, ("X-API-Key", "ff_live_wrong"));
        // The event stream takes its credential from the query by design (browsers cannot set headers on a WebSocket):
        // elsewhere a key in the query is no credential.
        var stream = path.StartsWith("/ws", StringComparison.OrdinalIgnoreCase);
        using var inQuery = await SendAsync(gateway, new HttpMethod(method), (stream ? "/v1/status" : path) + "?api_key=" + Key + "&token=" + Key);
        using var asProtocol = await SendAsync(
            gateway, new HttpMethod(method), stream ? "/v1/status" : path,
            ("Sec-WebSocket-Protocol", "bearer." + Key), ("Connection", "Upgrade"), ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="));

        foreach (var (what, response) in new[] { ("none", none), ("wrong", wrong), ("query", inQuery), ("protocol", asProtocol) })
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)response.StatusCode} {text}");
            Assert.DoesNotContain(Key, text, StringComparison.Ordinal);
            Json(text);
        }

        Assert.Equal(0, upstream.CountOf("/verify") + upstream.CountOf("/settle"));
        using var keyed = await SendAsync(gateway, new HttpMethod(method), path, ("X-API-Key", Key));
        Assert.NotEqual(HttpStatusCode.Unauthorized, keyed.StatusCode);
        Assert.NotEqual(HttpStatusCode.InternalServerError, keyed.StatusCode);
    }

    /// <summary>Credentials in odd shapes (repeated key headers, a key and a bearer, empty, huge, non-ASCII) never 500, never pass with a wrong one.</summary>
    [Fact]
    public async Task Auth_OddCredentialShapes_NeverServedWithoutTheKeyNever500()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(WithKey(upstream));
        (string, string)[][] shapes =
        [
            [("X-API-Key", "ff_live_wrong"), ("X-API-Key", "ff_live_wrong_too")],
            [("X-API-Key", "")],
            [("Authorization", "Bearer")],
            [("Authorization", "Bearer ")],
            [("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("a:" + "b")))],
            [("Authorization", "Bearer " + new string('x', 16_000))],
            [("Authorization", "Bearer a.b.c"), ("Authorization", "Bearer d.e.f")],
        ];

        foreach (var headers in shapes)
        {
            using var response = await SendAsync(gateway, HttpMethod.Get, "/api/facilitator-status", headers);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(
                response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.BadRequest or HttpStatusCode.RequestHeaderFieldsTooLarge or HttpStatusCode.TooManyRequests,
                $"{string.Join(",", headers.Select(h => h.Item1))}: {(int)response.StatusCode} {text}");
        }

        // Repeated header lines, as HttpClient will not send them: one valid key beside a wrong one is no credential.
        string[] heads =
        [
            "X-API-Key: " + Key + "\r\nX-API-Key: ff_live_wrong\r\n",
            "X-API-Key: ff_live_wrong\r\nX-API-Key: " + Key + "\r\n",
            "X-API-Key: ff_live_wrong\r\nAuthorization: Bearer " + Key + "\r\n",
            "X-API-Key: \r\nX-API-Key: \r\n",
        ];
        foreach (var head in heads)
        {
            var answer = await RawHttp.SendAsync(gateway.Client.BaseAddress!, "GET /api/facilitator-status HTTP/1.1\r\nHost: localhost\r\n" + head);
            Assert.True(answer.Status is 400 or 401, $"{head.Replace("\r\n", " | ", StringComparison.Ordinal)}: {answer.Status} {answer.Body}");
            Assert.DoesNotContain(Key, answer.Body, StringComparison.Ordinal);
        }

        using var ok = await SendAsync(gateway, HttpMethod.Get, "/api/facilitator-status", ("X-API-Key", Key));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    /// <summary>
    /// 200 concurrent verifies of distinct bodies: each upstream request is byte-identical to what its caller sent,
    /// each answer reaches only its caller, and the status API counts exactly 200 verifies and 200 log entries' worth.
    /// </summary>
    [Fact]
    public async Task Forward_ConcurrentDistinctBodies_ByteExactAndCounted()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.On("/verify", context =>
        {
            var nonce = Regex.Match(FakeFacilitator.RequestOf(context).BodyText, "\"nonce\":\"(0x[0-9a-f]{64})\"").Groups[1].Value;
            return FakeFacilitator.WriteAsync(context, 200, "{\"isValid\":true,\"payer\":\"" + SignedPayments.Payer + "\",\"n\":\"" + nonce + "\"}");
        });
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        await using var gateway = await GatewayHost.StartAsync(settings);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payer = PaymentSigner.CreatePayer(1);
        var bodies = Enumerable.Range(0, 200).Select(i => PaymentSigner.Request(payer, 2, now - 600, now + 300, nonceSeed: 5000 + i)).ToArray();

        var answers = await Task.WhenAll(bodies.Select(async body =>
        {
            using var response = await gateway.PostAsync("/verify", Encoding.UTF8.GetBytes(body));
            return (Body: body, response.StatusCode, Text: await response.Content.ReadAsStringAsync());
        }));

        foreach (var (body, status, text) in answers)
        {
            Assert.True(status == HttpStatusCode.OK, text);
            var nonce = Regex.Match(body, "\"nonce\":\"(0x[0-9a-f]{64})\"").Groups[1].Value;
            Assert.Equal(nonce, Json(text).GetProperty("n").GetString());
        }

        var sent = upstream.Received.Where(r => r.Path == "/verify").Select(r => r.BodyText).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(bodies.ToHashSet(StringComparer.Ordinal), sent);
        var stats = Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=stats")).GetProperty("statistics").GetProperty("facilitators")[0];
        Assert.Equal(200, stats.GetProperty("operations").GetProperty("verify").GetInt64());
        Assert.Equal(200, stats.GetProperty("results").GetProperty("success").GetInt64());
    }

    /// <summary>
    /// The pass-through limiter: each group's bucket (capacity 1, no refill on a stopped clock) is shared by every
    /// spelling of its paths — letter case, a trailing slash, the event stream — so the second request is 429, never served.
    /// </summary>
    [Theory]
    [InlineData("verify", "POST", "/verify", "POST", "/VERIFY")]
    [InlineData("settle", "POST", "/settle", "POST", "/Settle/")]
    [InlineData("supported", "GET", "/supported", "GET", "/SUPPORTED/")]
    [InlineData("api", "GET", "/api/facilitator-status", "GET", "/API/Facilitator-Status/")]
    [InlineData("v1", "GET", "/v1/status", "GET", "/V1/STATUS")]
    [InlineData("v1", "GET", "/v1/status", "GET", "/WS")]
    public async Task RateLimits_EveryGroupAndSpelling_SharesItsBucket(string policy, string firstMethod, string first, string secondMethod, string second)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/settle", 200, """{"success":true,"transaction":"0xfeed","network":"eip155:84532"}""");
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["RateLimit:Enabled"] = "true";
        settings[$"RateLimit:Policies:{policy}:Capacity"] = "1";
        settings[$"RateLimit:Policies:{policy}:RefillPerSecond"] = "0.01";
        await using var gateway = await GatewayHost.StartAsync(settings, new ManualTimeProvider(SignedPayments.SignedAt));

        using var served = await SendAsync(gateway, new HttpMethod(firstMethod), first);
        using var refused = await SendAsync(gateway, new HttpMethod(secondMethod), second);

        Assert.NotEqual(HttpStatusCode.TooManyRequests, served.StatusCode);
        var text = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.TooManyRequests, $"{(int)refused.StatusCode} {text}");
        Assert.NotNull(Header(refused, "Retry-After"));
        Json(text);
        Assert.True(upstream.CountOf("/settle") <= 1);
    }

    /// <summary>
    /// With hosting diagnostics off, the shield's scope is what ties log lines to a request: an upstream failure's
    /// warning carries the request's id (the one its caller got) and path, and no line or scope carries the caller's key
    /// or bearer token.
    /// </summary>
    [Fact]
    public async Task Logs_DuringARequest_CarryItsIdAndPathNeverItsCredential()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        upstream.Answer("/verify", 500, """{"error":"boom"}""");
        var settings = WithKey(upstream, requireForX402: true);
        settings["FACILITATOR_RETRIES"] = "0";
        settings["Logging:LogLevel:Default"] = "Warning";
        settings["FACILITATOR_HEALTH_CHECK"] = "false";
        settings["RateLimit:Enabled"] = "false";
        settings["Edge:Limits:MaxConnectionsPerClient"] = "0";
        var logs = new ScopedLogs();
        var app = Program.Build(
            ["--urls", "http://127.0.0.1:0"],
            configuration => configuration.AddInMemoryCollection(settings),
            services => services.AddSingleton<ILoggerProvider>(logs));
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/verify")
            {
                Content = new StringContent(SignedPayments.V2, Encoding.UTF8, "application/json"),
            };
            request.Headers.TryAddWithoutValidation("X-API-Key", Key);
            using var response = await client.SendAsync(request);
            var id = Header(response, "X-Request-Id")!;
            Assert.True((int)response.StatusCode is 502 or 503, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal(1, upstream.CountOf("/verify"));
            using var refused = await SendWithClientAsync(client, "/api/facilitator-status", "X-API-Key", Key + "x");

            await Eventually.TrueAsync(() => logs.Entries.Any(e => e.Level >= LogLevel.Warning && e.Scopes.Contains(id)), "a warning of the failing verify");
            var line = logs.Entries.First(e => e.Level >= LogLevel.Warning && e.Scopes.Contains(id));
            Assert.Contains("/verify", line.Scopes, StringComparison.Ordinal);
            Assert.All(logs.Entries, e =>
            {
                Assert.DoesNotContain(Key, e.Message, StringComparison.Ordinal);
                Assert.DoesNotContain(Key, e.Scopes, StringComparison.Ordinal);
                Assert.DoesNotContain(Key, e.Exception ?? "", StringComparison.Ordinal);
            });
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task<HttpResponseMessage> SendWithClientAsync(HttpClient client, string path, string header, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation(header, value);
        return await client.SendAsync(request);
    }

    /// <summary>Every log entry with the text of the scopes it was written in.</summary>
    private sealed class ScopedLogs : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public sealed record Entry(string Category, LogLevel Level, string Message, string Scopes, string? Exception);

        public ConcurrentQueue<Entry> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(ScopedLogs owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => owner._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scopes = new StringBuilder();
                owner._scopes.ForEachScope(static (scope, builder) => builder.Append(scope).Append(" => "), scopes);
                owner.Entries.Enqueue(new Entry(category, logLevel, formatter(state, exception), scopes.ToString(), exception?.ToString()));
            }
        }
    }
}
