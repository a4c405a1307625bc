using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Events;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Facilitator.Fast.Tests.Events.PaymentEventTests;
using static Facilitator.Fast.Tests.Payments.PaymentLifecycleTests;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// An adversarial review of the payment event stream: credentials in odd places and encodings, callers from the
/// network, browser origins (DNS rebinding), what the errors channel carries, and raw frames a library would not send.
/// </summary>
public sealed class EventStreamReviewTests
{
    private const string ApiKey = "ff_live_review_8d31f0c7a2";
    private const string X402OnlyKey = "x402-only-review-key-77";
    private const string Secret = "a-review-hs256-secret-of-at-least-32-bytes!!";

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync(
        bool credentials, Action<Dictionary<string, string?>>? configure = null, CapturedLogs? logs = null)
    {
        var upstream = await UpstreamAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        if (credentials)
        {
            settings["Auth:ApiKeys:0:Name"] = "dashboard";
            settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey)));
            settings["Auth:ApiKeys:1:Name"] = "x402-only";
            settings["Auth:ApiKeys:1:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(X402OnlyKey)));
            settings["Auth:ApiKeys:1:Groups:0"] = "x402";
            settings["Auth:Jwt:HmacSecret"] = Secret;
            settings["Auth:Jwt:Issuer"] = "https://issuer.example.com";
            settings["Auth:Jwt:Audience"] = "facilitator";
        }

        configure?.Invoke(settings);
        return (await GatewayHost.StartAsync(settings, logs: logs), upstream);
    }

    private static string Jwt(string secret = Secret, DateTime? expires = null, DateTime? notBefore = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://issuer.example.com",
            Audience = "facilitator",
            Subject = new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sub", "dashboard")]),
            NotBefore = notBefore ?? DateTime.UtcNow.AddMinutes(-30),
            IssuedAt = notBefore ?? DateTime.UtcNow.AddMinutes(-30),
            Expires = expires ?? DateTime.UtcNow.AddMinutes(5),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        });

    /// <summary>A WebSocket upgrade written byte for byte: its status, and the open socket when it was upgraded.</summary>
    private sealed class RawUpgrade : IAsyncDisposable
    {
        private RawUpgrade(TcpClient tcp, int status, string head)
        {
            Tcp = tcp;
            Status = status;
            Head = head;
        }

        public TcpClient Tcp { get; }

        public NetworkStream Stream => Tcp.GetStream();

        public int Status { get; }

        public string Head { get; }

        public static async Task<RawUpgrade> OpenAsync(GatewayHost gateway, string target = "/ws", string extraHeaders = "", string? host = null, int? receiveBuffer = null)
        {
            var server = gateway.Client.BaseAddress!;
            var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
            if (receiveBuffer is { } size)
            {
                tcp.ReceiveBufferSize = size;
            }

            await tcp.ConnectAsync(server.Host, server.Port);
            var head = $"GET {target} HTTP/1.1\r\nHost: {host ?? server.Authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + $"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))}\r\n{extraHeaders}\r\n";
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var read = new List<byte>();
            var one = new byte[1];
            while (!EndsWithBlankLine(read) && await stream.ReadAsync(one, deadline.Token) == 1)
            {
                read.Add(one[0]);
            }

            var text = Encoding.ASCII.GetString([.. read]);
            var status = text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture) : 0;
            return new RawUpgrade(tcp, status, text);
        }

        private static bool EndsWithBlankLine(List<byte> read) =>
            read.Count >= 4 && read[^4] == '\r' && read[^3] == '\n' && read[^2] == '\r' && read[^1] == '\n';

        /// <summary>A client frame (masked with a zero key, which leaves the payload as it is).</summary>
        public static byte[] Frame(int opcode, bool fin, ReadOnlySpan<byte> payload, long? claimedLength = null)
        {
            var length = claimedLength ?? payload.Length;
            using var frame = new MemoryStream();
            frame.WriteByte((byte)((fin ? 0x80 : 0) | opcode));
            if (length < 126)
            {
                frame.WriteByte((byte)(0x80 | length));
            }
            else if (length <= ushort.MaxValue)
            {
                frame.WriteByte(0x80 | 126);
                frame.WriteByte((byte)(length >> 8));
                frame.WriteByte((byte)length);
            }
            else
            {
                frame.WriteByte(0x80 | 127);
                for (var shift = 56; shift >= 0; shift -= 8)
                {
                    frame.WriteByte((byte)(length >> shift));
                }
            }

            frame.Write([0, 0, 0, 0]);
            frame.Write(payload);
            return frame.ToArray();
        }

        public async ValueTask DisposeAsync()
        {
            Tcp.Dispose();
            await Task.CompletedTask;
        }
    }

    private static async Task<int> UpgradeStatusAsync(GatewayHost gateway, string target = "/ws", string extraHeaders = "", string? host = null)
    {
        await using var upgrade = await RawUpgrade.OpenAsync(gateway, target, extraHeaders, host);
        return upgrade.Status;
    }

    // ---------------------------------------------------------------- 1. authentication

    [Theory]
    [InlineData("203.0.113.9")]
    [InlineData("2001:db8::9")]
    public async Task Upgrade_NoCredentialsConfigured_NetworkCallerViaTrustedProxy_403(string client)
    {
        var (gateway, upstream) = await StartAsync(false, s => s["Edge:TrustedProxies:0"] = "127.0.0.1");
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(403, await UpgradeStatusAsync(gateway, extraHeaders: $"X-Forwarded-For: {client}\r\n"));
        Assert.Equal(101, await UpgradeStatusAsync(gateway));
    }

    [Fact]
    public async Task Upgrade_NoCredentialsConfigured_ForwardedThroughUntrustedLoopbackProxy_403()
    {
        var (gateway, upstream) = await StartAsync(false);
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(403, await UpgradeStatusAsync(gateway, extraHeaders: "X-Forwarded-For: 203.0.113.9\r\n"));
        Assert.Equal(403, await UpgradeStatusAsync(gateway, extraHeaders: "Forwarded: for=203.0.113.9\r\n"));
    }

    [Fact]
    public async Task Upgrade_NoCredentialsConfiguredOpenApiToNetwork_NetworkCaller_101()
    {
        var (gateway, upstream) = await StartAsync(false, s =>
        {
            s["Edge:TrustedProxies:0"] = "127.0.0.1";
            s["Auth:OpenApiToNetwork"] = "true";
        });
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(101, await UpgradeStatusAsync(gateway, extraHeaders: "X-Forwarded-For: 203.0.113.9\r\n"));
    }

    /// <summary>
    /// DNS rebinding: a page at http://evil.example:PORT whose name is re-pointed at 127.0.0.1 opens ws://evil.example:PORT/ws
    /// from a visitor's machine that runs the gateway. The browser sends Host and Origin both of the attacker's name, so
    /// "the service's own origin" computed from Host matches, and the loopback-only rule lets the local caller in.
    /// </summary>
    [Fact]
    public async Task Upgrade_DnsRebinding_OriginEqualsAttackerHost_403()
    {
        var (gateway, upstream) = await StartAsync(false);
        await using var _ = gateway;
        await using var __ = upstream;
        var port = gateway.Client.BaseAddress!.Port;
        var attacker = $"evil.example:{port}";

        Assert.Equal(403, await UpgradeStatusAsync(gateway, extraHeaders: $"Origin: http://evil.example:{port}\r\n"));
        Assert.Equal(403, await UpgradeStatusAsync(gateway, extraHeaders: $"Origin: http://{attacker}\r\n", host: attacker));
    }

    [Theory]
    [InlineData("https://dashboard.example.com.evil.com")]
    [InlineData("https://evil.com/https://dashboard.example.com")]
    [InlineData("https://dashboard.example.com, https://evil.com")]
    [InlineData("")]
    public async Task Upgrade_OriginLookalikes_403(string origin)
    {
        var (gateway, upstream) = await StartAsync(true, s => s["Edge:Cors:AllowedOrigins:0"] = "https://dashboard.example.com");
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(403, await UpgradeStatusAsync(gateway, extraHeaders: $"X-API-Key: {ApiKey}\r\nOrigin: {origin}\r\n"));
    }

    [Fact]
    public async Task Upgrade_ExpiredOrNotYetValidOrForeignJwt_401InEveryPlace()
    {
        var (gateway, upstream) = await StartAsync(true);
        await using var _ = gateway;
        await using var __ = upstream;
        string[] bad =
        [
            Jwt(expires: DateTime.UtcNow.AddMinutes(-10), notBefore: DateTime.UtcNow.AddMinutes(-40)),
            Jwt(notBefore: DateTime.UtcNow.AddMinutes(30), expires: DateTime.UtcNow.AddMinutes(60)),
            Jwt(secret: "another-hs256-secret-of-at-least-32-bytes!!!"),
        ];

        foreach (var token in bad)
        {
            Assert.Equal(401, await UpgradeStatusAsync(gateway, extraHeaders: $"Authorization: Bearer {token}\r\n"));
            Assert.Equal(401, await UpgradeStatusAsync(gateway, "/ws?token=" + Uri.EscapeDataString(token)));
            Assert.Equal(401, await UpgradeStatusAsync(gateway, extraHeaders: $"Sec-WebSocket-Protocol: facilitator-events, bearer.{token}\r\n"));
        }

        Assert.Equal(101, await UpgradeStatusAsync(gateway, extraHeaders: $"Sec-WebSocket-Protocol: facilitator-events, bearer.{Jwt()}\r\n"));
    }

    [Fact]
    public async Task Upgrade_KeyLimitedToX402_403InEveryPlace()
    {
        var (gateway, upstream) = await StartAsync(true);
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(403, await UpgradeStatusAsync(gateway, extraHeaders: $"X-API-Key: {X402OnlyKey}\r\n"));
        Assert.Equal(403, await UpgradeStatusAsync(gateway, "/ws?token=" + X402OnlyKey));
        Assert.Equal(403, await UpgradeStatusAsync(gateway, "/WS/?token=" + X402OnlyKey));
        Assert.Equal(403, await UpgradeStatusAsync(gateway, extraHeaders: $"Sec-WebSocket-Protocol: bearer.{X402OnlyKey}\r\n"));
    }

    [Theory]
    [InlineData("Sec-WebSocket-Protocol: bearer.\r\n")]
    [InlineData("Sec-WebSocket-Protocol: \r\n")]
    [InlineData("Sec-WebSocket-Protocol: ,,,\r\n")]
    [InlineData("Sec-WebSocket-Protocol: facilitator-events\r\n")]
    [InlineData("Sec-WebSocket-Protocol: bearer.not-the-key, bearer." + ApiKey + "\r\n")]
    [InlineData("Sec-WebSocket-Protocol: bearer." + ApiKey + ", bearer." + ApiKey + "\r\n")]
    [InlineData("Sec-WebSocket-Protocol: bearer." + ApiKey + "\r\nSec-WebSocket-Protocol: bearer.other\r\n")]
    [InlineData("Sec-WebSocket-Protocol: Bearer " + ApiKey + "\r\n")]
    [InlineData("X-Payment: eyJ4NDAyVmVyc2lvbiI6Mn0=\r\n")]
    [InlineData("X-API-Key: \r\n")]
    [InlineData("Authorization: Bearer\r\n")]
    public async Task Upgrade_SubprotocolAndHeaderTricks_401(string headers)
    {
        var (gateway, upstream) = await StartAsync(true);
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(401, await UpgradeStatusAsync(gateway, extraHeaders: headers));
    }

    [Theory]
    [InlineData("/ws?token=")]
    [InlineData("/ws?token")]
    [InlineData("/ws?token=wrong&token=" + ApiKey)]
    [InlineData("/ws?token=" + ApiKey + "&TOKEN=" + ApiKey)]
    [InlineData("/ws?token=" + ApiKey + "%00")]
    [InlineData("/ws?token=%20" + ApiKey)]
    [InlineData("/ws?tokens=" + ApiKey)]
    [InlineData("/ws?x=1;token=" + ApiKey)]
    public async Task Upgrade_OddTokenQueries_401(string target)
    {
        var (gateway, upstream) = await StartAsync(true);
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(401, await UpgradeStatusAsync(gateway, target));
    }

    /// <summary>README: "a credential in two places is refused". A valid key in the header and a token elsewhere is two.</summary>
    [Theory]
    [InlineData("query")]
    [InlineData("subprotocol")]
    public async Task Upgrade_ApiKeyHeaderPlusJwtElsewhere_RefusedAsTwoCredentials(string where)
    {
        var (gateway, upstream) = await StartAsync(true);
        await using var _ = gateway;
        await using var __ = upstream;
        var junkJwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";

        var status = where == "query"
            ? await UpgradeStatusAsync(gateway, "/ws?token=" + junkJwt, $"X-API-Key: {ApiKey}\r\n")
            : await UpgradeStatusAsync(gateway, extraHeaders: $"X-API-Key: {ApiKey}\r\nSec-WebSocket-Protocol: facilitator-events, bearer.{junkJwt}\r\n");

        Assert.Equal(401, status);
    }

    [Theory]
    [InlineData("/ws?%74oken={0}")]
    [InlineData("/ws?a=1&token={0}&b=2")]
    [InlineData("/ws/?token={0}")]
    [InlineData("/WS?token={0}")]
    public async Task TokenQuery_OddButValidSpellings_ConnectAndTheKeyIsNeverLogged(string target)
    {
        var logs = new CapturedLogs();
        var (gateway, upstream) = await StartAsync(true, s =>
        {
            s["Logging:LogLevel:Default"] = "Trace";
            s["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Warning";
        }, logs);
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(101, await UpgradeStatusAsync(gateway, string.Format(System.Globalization.CultureInfo.InvariantCulture, target, ApiKey)));
        await Eventually.TrueAsync(() => gateway.Services.GetRequiredService<EventHub>().Count == 0, "the connection is gone");

        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(ApiKey, StringComparison.Ordinal));
    }

    /// <summary>
    /// The token parameter is looked up case-insensitively (it authenticates) but removed only when spelled exactly
    /// <c>token</c>: <c>?Token=</c> stays on the request, where the hosting log's "Request finished" line writes it.
    /// </summary>
    [Theory]
    [InlineData("Token")]
    [InlineData("TOKEN")]
    public async Task TokenQuery_OtherLetterCase_RemovedFromTheRequestLikeLowerCase(string name)
    {
        var logs = new CapturedLogs();
        var (gateway, upstream) = await StartAsync(true, s => s["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information", logs);
        await using var _ = gateway;
        await using var __ = upstream;

        await using (var upgrade = await RawUpgrade.OpenAsync(gateway, $"/ws?{name}={ApiKey}"))
        {
            Assert.Equal(101, upgrade.Status);
        }

        await Eventually.TrueAsync(() => logs.Entries.Any(e => e.Message.StartsWith("Request finished", StringComparison.Ordinal)), "the request finished");
        var finished = logs.Entries.Where(e => e.Message.StartsWith("Request finished", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(finished, e => e.Message.Contains(ApiKey, StringComparison.Ordinal));
    }

    /// <summary>Any level, any category (the hosting log included): the token in the query is never written.</summary>
    [Fact(Skip = "Known limit (README): ASP.NET Core's hosting log at Information writes the request URL before any middleware; off in the shipped settings; the subprotocol carries a credential without it.")]
    public async Task TokenQuery_AllLogsAtTraceIncludingHosting_NeverContainTheToken()
    {
        var logs = new CapturedLogs();
        var (gateway, upstream) = await StartAsync(true, s =>
        {
            s["Logging:LogLevel:Default"] = "Trace";
            s["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
        }, logs);
        await using var _ = gateway;
        await using var __ = upstream;

        Assert.Equal(101, await UpgradeStatusAsync(gateway, "/ws?token=" + ApiKey));
        await Eventually.TrueAsync(() => gateway.Services.GetRequiredService<EventHub>().Count == 0, "the connection is gone");

        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(ApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SubprotocolCredential_AllLogsAtTraceAndStatusApi_NeverContainIt()
    {
        var logs = new CapturedLogs();
        var jwt = Jwt();
        var (gateway, upstream) = await StartAsync(true, s => s["Logging:LogLevel:Default"] = "Trace", logs);
        await using var _ = gateway;
        await using var __ = upstream;

        await using (var upgrade = await RawUpgrade.OpenAsync(gateway, extraHeaders: $"Sec-WebSocket-Protocol: facilitator-events, bearer.{jwt}\r\n"))
        {
            Assert.Equal(101, upgrade.Status);
            Assert.DoesNotContain(jwt, upgrade.Head, StringComparison.Ordinal);
        }

        Assert.Equal(401, await UpgradeStatusAsync(gateway, extraHeaders: $"Sec-WebSocket-Protocol: bearer.wrong-{ApiKey}\r\n"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/facilitator-status?include=stats,health,logs");
        request.Headers.Add("X-API-Key", ApiKey);
        using var status = await gateway.Client.SendAsync(request);
        var body = await status.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.DoesNotContain(jwt, body, StringComparison.Ordinal);
        Assert.DoesNotContain(ApiKey, body, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(jwt, StringComparison.Ordinal) || e.Message.Contains(ApiKey, StringComparison.Ordinal));
    }

    // ---------------------------------------------------------------- 2. data

    [Fact]
    public async Task PayeeFilter_OtherPayeesPayments_NeverDelivered_EvenWithTheFilterInEscapesAndMixedCase()
    {
        var (gateway, upstream) = await StartAsync(false);
        await using var _ = gateway;
        await using var __ = upstream;
        const string other = "0x1111111111111111111111111111111111111111";
        await using var otherOnly = await EventStreamClient.ConnectAsync(gateway);
        await otherOnly.SendAsync("""{"type":"subscribe","channels":["payments"],"filter":{"payee":"\u0030x1111111111111111111111111111111111111111"}}""");
        await otherOnly.NextAsync("subscribed");
        await using var merchant = await EventStreamClient.ConnectAsync(gateway);
        var shouted = PaymentSigner.PayTo.ToUpperInvariant().Replace("0X", "0x", StringComparison.Ordinal);
        await merchant.SendAsync("{\"type\":\"subscribe\",\"channels\":[\"payments\"],\"filter\":{\"payee\":\"" + shouted + "\"}}");
        await merchant.NextAsync("subscribed");

        using (await gateway.PostAsync("/verify", Payment(801, 1)))
        using (await gateway.PostAsync("/settle", Payment(801, 2)))
        using (await gateway.PostAsync("/verify", Payment(801, 3).Replace("\"network\":\"eip155:84532\"", "\"network\":\"eip155:8453\"", StringComparison.Ordinal)))
        {
        }

        await merchant.NextAsync("payment:settled");
        await merchant.NextAsync("payment:failed");
        await SettledAsync(otherOnly);
        await SettledAsync(merchant);

        Assert.DoesNotContain(otherOnly.Messages, m => EventStreamClient.TypeOf(m)!.StartsWith("payment:", StringComparison.Ordinal));
        Assert.All(
            merchant.Messages.Where(m => EventStreamClient.TypeOf(m)!.StartsWith("payment:", StringComparison.Ordinal)),
            m => Assert.Equal(PaymentSigner.PayTo, m.GetProperty("data").GetProperty("payee").GetString(), ignoreCase: true));
        Assert.NotEqual(other, PaymentSigner.PayTo);
    }

    [Fact]
    public async Task Unauthenticated_UpgradeRefused_NoEventEverReachesTheSocket()
    {
        var (gateway, upstream) = await StartAsync(true);
        await using var _ = gateway;
        await using var __ = upstream;
        await using var upgrade = await RawUpgrade.OpenAsync(gateway, extraHeaders: "X-API-Key: wrong\r\n");
        using var response = await PostWithKeyAsync(gateway, "/verify", Payment(802, 1));

        Assert.Equal(401, upgrade.Status);
        Assert.Equal(0, gateway.Services.GetRequiredService<EventHub>().Count);
        var rest = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var text = new StringBuilder();
        try
        {
            int n;
            while ((n = await upgrade.Stream.ReadAsync(rest, deadline.Token)) > 0)
            {
                text.Append(Encoding.UTF8.GetString(rest, 0, n));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
        }

        Assert.DoesNotContain("payment:", text.ToString(), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> PostWithKeyAsync(GatewayHost gateway, string path, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-API-Key", ApiKey);
        return gateway.Client.SendAsync(request);
    }

    /// <summary>An upstream that fails with its answer echoing the operator's header secret and the request's signature.</summary>
    [Fact]
    public async Task ErrorsChannel_UpstreamFailureEchoingSecretsAndBody_NeitherReachesTheSubscriber()
    {
        const string headerSecret = "sk_live_upstream_header_3f9a8b7c6d5e";
        var (gateway, upstream) = await StartAsync(false, s =>
        {
            s["Upstreams:0:Headers:*:X-Custom-Auth"] = headerSecret;
            s["Aggregator:Retries"] = "0";
        });
        await using var _ = gateway;
        await using var __ = upstream;
        upstream.On("/verify", async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var auth = context.Request.Headers["X-Custom-Auth"].ToString();
            await FakeFacilitator.WriteAsync(context, 500, JsonSerializer.Serialize(new { error = "boom " + auth + " request was " + body }));
        });
        await using var client = await EventStreamClient.ConnectAsync(gateway);
        await client.SendAsync("""{"type":"subscribe","channels":["errors","payments"]}""");
        await client.NextAsync("subscribed");
        var payment = Payment(803, 1);
        var signature = JsonDocument.Parse(payment).RootElement.GetProperty("paymentPayload").GetProperty("payload").GetProperty("signature").GetString()!;

        using (await gateway.PostAsync("/verify", payment))
        {
        }

        await client.NextAsync("facilitator:failures", timeoutMs: 15_000);
        await client.NextAsync("payment:failed");
        await SettledAsync(client);

        var all = string.Join("\n", client.Messages.Select(m => m.GetRawText()));
        Assert.DoesNotContain(headerSecret, all, StringComparison.Ordinal);
        Assert.DoesNotContain(signature[2..40], all, StringComparison.OrdinalIgnoreCase);
    }

    // ---------------------------------------------------------------- 3. robustness

    [Fact]
    public async Task CloseFrameMidFragmentedMessage_ConnectionEndsCleanly_NothingLoggedAsError()
    {
        var logs = new CapturedLogs();
        var (gateway, upstream) = await StartAsync(false, logs: logs);
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        await using var upgrade = await RawUpgrade.OpenAsync(gateway);
        Assert.Equal(101, upgrade.Status);
        await Eventually.TrueAsync(() => hub.Count == 1, "the client is connected");

        await upgrade.Stream.WriteAsync(RawUpgrade.Frame(0x1, fin: false, """{"type":"subscr"""u8));
        await upgrade.Stream.WriteAsync(RawUpgrade.Frame(0x0, fin: false, "ibe\",\"chan"u8));
        await upgrade.Stream.WriteAsync(RawUpgrade.Frame(0x8, fin: true, [0x03, 0xE8]));

        await Eventually.TrueAsync(() => hub.Count == 0, "the connection is gone");
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
    }

    /// <summary>
    /// One frame claiming 2^63-1 bytes, streamed: past 1 MiB the server sends close 1009 and, the peer ignoring it,
    /// cuts the connection within the close timeout; nothing of it is buffered.
    /// </summary>
    [Fact]
    public async Task HugeClaimedFrameLength_StreamedPastTheLimit_Close1009Sent_ThenCut_NotBuffered()
    {
        var (gateway, upstream) = await StartAsync(false);
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        await using var upgrade = await RawUpgrade.OpenAsync(gateway);
        Assert.Equal(101, upgrade.Status);
        var received = new MemoryStream();
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int n;
                while ((n = await upgrade.Stream.ReadAsync(buffer)) > 0)
                {
                    lock (received)
                    {
                        received.Write(buffer, 0, n);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
            }
        });

        await upgrade.Stream.WriteAsync(RawUpgrade.Frame(0x1, fin: true, [], claimedLength: long.MaxValue));
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'x');
        var started = DateTime.UtcNow;
        try
        {
            while (hub.Count > 0 && DateTime.UtcNow - started < TimeSpan.FromSeconds(15))
            {
                await upgrade.Stream.WriteAsync(chunk);
            }
        }
        catch (IOException)
        {
        }

        await Eventually.TrueAsync(() => hub.Count == 0, "the connection is cut");
        Assert.True(DateTime.UtcNow - started < EventConnection.CloseTimeout + TimeSpan.FromSeconds(4), "cut within the close timeout");
        upgrade.Tcp.Client.Close(0);
        await reading;
        byte[] bytes;
        lock (received)
        {
            bytes = received.ToArray();
        }

        Assert.True(bytes.AsSpan().IndexOf(new byte[] { 0x03, 0xF1 }) > 0, "a close frame with 1009 was sent");
    }

    [Fact(Skip = "Known limit: the runtime's WebSocket consumes empty continuation frames without returning from ReceiveAsync, so the receive loop cannot count them; memory stays bounded, CPU does not.")]
    public async Task EndlessEmptyContinuationFrames_AfterSubscribing_ClosedOrCounted()
    {
        var (gateway, upstream) = await StartAsync(false, s => s["Events:MaxBadFrames"] = "3");
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        await using var upgrade = await RawUpgrade.OpenAsync(gateway);
        Assert.Equal(101, upgrade.Status);
        await upgrade.Stream.WriteAsync(RawUpgrade.Frame(0x1, fin: true, """{"type":"subscribe","channels":["payments"]}"""u8));

        // One message that never ends, of empty fragments: no byte counts against the size limit, no message against the rate.
        await upgrade.Stream.WriteAsync(RawUpgrade.Frame(0x1, fin: false, []));
        var empty = RawUpgrade.Frame(0x0, fin: false, []);
        var batch = Enumerable.Repeat(empty, 4096).SelectMany(f => f).ToArray();
        var sentFrames = 0L;
        var started = DateTime.UtcNow;
        try
        {
            while (hub.Count > 0 && DateTime.UtcNow - started < TimeSpan.FromSeconds(8))
            {
                await upgrade.Stream.WriteAsync(batch);
                sentFrames += 4096;
            }
        }
        catch (IOException)
        {
        }

        Assert.True(hub.Count == 0, $"{sentFrames} empty fragments of one message were taken without the connection being closed");
    }

    /// <summary>
    /// WebSocket pings the server must answer with pongs, from a client that never reads: the pongs stall, and the
    /// receive loop with them. The connection must still be cut (keep-alive timeout), not held forever.
    /// </summary>
    [Fact]
    public async Task PingFloodNeverReading_ConnectionCut()
    {
        var (gateway, upstream) = await StartAsync(false, s =>
        {
            s["Events:PingIntervalMs"] = "1000";
            s["Events:PongTimeoutMs"] = "1000";
            s["Events:SendTimeoutMs"] = "1000";
        });
        await using var _ = gateway;
        await using var __ = upstream;
        var hub = gateway.Services.GetRequiredService<EventHub>();
        await using var upgrade = await RawUpgrade.OpenAsync(gateway, receiveBuffer: 1024);
        Assert.Equal(101, upgrade.Status);
        await upgrade.Stream.WriteAsync(RawUpgrade.Frame(0x1, fin: true, """{"type":"subscribe","channels":["payments"]}"""u8));
        var ping = RawUpgrade.Frame(0x9, fin: true, new byte[125]);
        var batch = Enumerable.Repeat(ping, 256).SelectMany(f => f).ToArray();
        var flood = Task.Run(async () =>
        {
            try
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                while (!stop.IsCancellationRequested)
                {
                    await upgrade.Stream.WriteAsync(batch, stop.Token);
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
        });

        await Eventually.TrueAsync(() => hub.Count == 0, "the connection is cut", timeoutMs: 20_000);
        upgrade.Tcp.Client.Close(0);
        await flood;
    }
}
