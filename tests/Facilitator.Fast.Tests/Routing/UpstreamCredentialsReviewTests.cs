using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Telemetry;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// Adversarial review of the CDP/credentials merge: a hostile or buggy upstream, a payer, a stranger reading the status
/// API, and an operator's start-up mistakes. Every assertion states what must hold; a failing one is a finding.
/// </summary>
public sealed class UpstreamCredentialsReviewTests
{
    private const string Token = "sk_live+R3v13w/T0k3n=9x7Q2abc";
    private const int CredentialsRefusedEvent = 1030;

    // ---------------------------------------------------------------- settle safety

    /// <summary>
    /// A 401/403 whose body says the settle happened (or is pending) is not proof that it was not processed: sending the
    /// same authorization to a second facilitator is exactly what must never happen.
    /// </summary>
    [Theory]
    [InlineData(401, """{"success":true,"transaction":"0xfeedbeef","network":"base-sepolia","payer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}""")]
    [InlineData(403, """{"success":false,"errorReason":"settlement_pending","transaction":"0xfeedbeef"}""")]
    [InlineData(401, """{"success":false,"errorReason":"unexpected_settle_error","transaction":"0xfeedbeef"}""")]
    public async Task Settle_CredentialedUpstream401Or403WithSettlementBody_NeverSentToSecondUpstream(int status, string body)
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", status, body);
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(primary, secondary, bearerOnFirst: true));

        using var response = await gateway.PostAsync("/settle", SignedPayments.V2);

        Assert.Equal(1, primary.CountOf("/settle"));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    /// <summary>Retried on the same upstream after a 429, the second attempt answers 403 with a settled body: same rule.</summary>
    [Fact]
    public async Task Settle_RetryAfter429Answered403WithTransaction_NeverSentToSecondUpstream()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Sequence(
            "/settle",
            1,
            static c => FakeFacilitator.WriteAsync(c, 429, """{"error":"slow down"}"""),
            static c => FakeFacilitator.WriteAsync(c, 403, """{"success":true,"transaction":"0xfeedbeef","network":"base-sepolia"}"""));
        var settings = TwoUpstreams(primary, secondary, bearerOnFirst: true);
        settings["Upstreams:0:Retries"] = "1";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/settle", SignedPayments.V2);

        Assert.Equal(2, primary.CountOf("/settle"));
        Assert.Equal(0, secondary.CountOf("/settle"));
    }

    /// <summary>Credentials refused everywhere: never a success, never "pending", and the payment is not stuck afterwards.</summary>
    [Fact]
    public async Task Settle_CredentialsRefusedEverywhere_ServiceUnavailableAndARepeatSettlesOnceFixed()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", 401, """{"error":"unauthorized"}""");
        secondary.Answer("/settle", 403, """{"error":"forbidden"}""");
        var settings = TwoUpstreams(primary, secondary, bearerOnFirst: true);
        settings["Upstreams:1:Auth:Kind"] = "bearer";
        settings["Upstreams:1:Auth:Token"] = Token + "2";
        await using var gateway = await GatewayHost.StartAsync(settings);

        using (var refused = await gateway.PostAsync("/settle", SignedPayments.V2))
        {
            var text = await refused.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.DoesNotContain("\"success\":true", text);
            Assert.DoesNotContain("settlement_pending", text);
        }

        secondary.Answer("/settle", 200, """{"success":true,"transaction":"0xsecond","network":"base-sepolia","payer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}""");
        using var repeat = await gateway.PostAsync("/settle", SignedPayments.V2);

        Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
        Assert.Contains("0xsecond", await repeat.Content.ReadAsStringAsync());
        Assert.All(secondary.Received, static r => Assert.Equal("Bearer " + Token + "2", r.Headers["Authorization"]));
    }

    /// <summary>After failing over on refused credentials, the second upstream's verdict is what the caller gets, false included.</summary>
    [Fact]
    public async Task Settle_FailedOverOnCredentialsRefused_SecondUpstreamsFailureNotTurnedIntoSuccess()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/settle", 401, """{"errorType":"unauthorized","errorMessage":"The request is not properly authenticated."}""");
        secondary.Answer("/settle", 200, """{"success":false,"errorReason":"insufficient_funds","transaction":"","network":"base-sepolia"}""");
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(primary, secondary, bearerOnFirst: true));

        using var response = await gateway.PostAsync("/settle", SignedPayments.V2);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        Assert.Contains("insufficient_funds", text);
        Assert.DoesNotContain("\"success\":true", text);
    }

    /// <summary>An upstream's 401/403 is never the payment's verdict, whatever its body says, with or without credentials.</summary>
    [Theory]
    [InlineData(401, true)]
    [InlineData(403, true)]
    [InlineData(401, false)]
    public async Task Verify_Upstream401WithIsValidFalseBody_NeverRelayedAsVerdict(int status, bool credentials)
    {
        await using var only = await FakeFacilitator.StartAsync();
        only.Answer("/verify", status, """{"isValid":false,"invalidReason":"invalid_exact_evm_payload_signature","payer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}""");
        var settings = GatewayHost.Upstreams(("only", only.Url));
        if (credentials)
        {
            settings["Upstreams:0:Auth:Kind"] = "bearer";
            settings["Upstreams:0:Auth:Token"] = Token;
        }

        await using var gateway = await GatewayHost.StartAsync(settings);

        using var response = await gateway.PostAsync("/verify", SignedPayments.V2);

        // The gateway's own failure answer (503, unexpected_verify_error) is fine; the upstream's verdict is not.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("unexpected_verify_error", Json(await response.Content.ReadAsStringAsync()).GetProperty("invalidReason").GetString());
    }

    /// <summary>
    /// "Credentials refused" is for an upstream that was sent credentials. One configured with none (x402.rs behind a WAF
    /// answering 403) must not be reported as "refuses the gateway's credentials … misconfigured (key, key id, clock or URL)".
    /// </summary>
    [Fact]
    public async Task Verify_UpstreamWithoutCredentialsAnswers403_NotReportedAsCredentialsRefused()
    {
        await using var primary = await FakeFacilitator.StartAsync();
        await using var secondary = await FakeFacilitator.StartAsync();
        primary.Answer("/verify", 403, """{"error":"blocked by firewall"}""");
        var logs = new CapturedLogs();
        await using var gateway = await GatewayHost.StartAsync(TwoUpstreams(primary, secondary, bearerOnFirst: false), logs: logs);

        using var response = await gateway.PostAsync("/verify", SignedPayments.V2);

        Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        var health = ById(Json(await gateway.Client.GetStringAsync("/api/facilitator-status?include=health")).GetProperty("health"), "primary");
        Assert.False(health.TryGetProperty("credentials", out var shown), $"credentials shown as {shown}");
        Assert.DoesNotContain(logs.Entries, e => e.EventId == CredentialsRefusedEvent);
    }

    // ---------------------------------------------------------------- secrets

    public static TheoryData<string> EchoForms() =>
    [
        "raw", "api-key-header", "bearer-two-spaces", "bearer-tab", "bearer-split-line", "base64", "base64url", "url-encoded",
    ];

    /// <summary>
    /// A hostile upstream echoes the static token it was sent, in some form, in its 401/403. The refusal text goes to logs,
    /// the status API, trace status and the caller's 503: the token must be in none of them.
    /// </summary>
    [Theory]
    [MemberData(nameof(EchoForms))]
    public async Task Refusal_UpstreamEchoesStaticToken_TokenNowhereInLogsStatusTracesOrCallerError(string form)
    {
        await using var only = await FakeFacilitator.StartAsync();
        var echoed = form switch
        {
            "raw" => $"invalid api key {Token}",
            "api-key-header" => $"X-API-Key: {Token} not recognised",
            "bearer-two-spaces" => $"got Bearer  {Token}",
            "bearer-tab" => $"got Bearer\t{Token}",
            "bearer-split-line" => $"got Bearer {Token[..14]}\n{Token[14..]}",
            "base64" => $"bad credential {Convert.ToBase64String(Encoding.UTF8.GetBytes(Token))}",
            "base64url" => $"bad credential {Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Token))}",
            _ => $"bad credential {Uri.EscapeDataString(Token)}",
        };
        var secretForms = form switch
        {
            "base64" => Convert.ToBase64String(Encoding.UTF8.GetBytes(Token)),
            "base64url" => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Token)),
            "url-encoded" => Uri.EscapeDataString(Token),
            _ => Token,
        };
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = echoed });
        only.Answer("/verify", 403, body);
        var id = "echo-" + form;
        var settings = GatewayHost.Upstreams((id, only.Url));
        settings["Upstreams:0:Auth:Kind"] = form == "api-key-header" ? "api-key" : "bearer";
        settings["Upstreams:0:Auth:Header"] = form == "api-key-header" ? "X-API-Key" : null;
        settings["Upstreams:0:Auth:Token"] = Token;
        settings["Logging:LogLevel:Default"] = "Trace";
        settings["FACILITATOR_LOGGING"] = "true";
        var logs = new CapturedLogs();
        using var traces = new TraceCapture(id);
        await using var gateway = await GatewayHost.StartAsync(settings, logs: logs);

        using var response = await gateway.PostAsync("/verify", SignedPayments.V2);
        var callerText = await response.Content.ReadAsStringAsync();
        var status = await gateway.Client.GetStringAsync("/api/facilitator-status");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var everything = string.Join("\n", logs.Entries.Select(static e => e.Message + e.Exception)) + "\n" + status + "\n" + callerText + "\n" + traces.Text;
        Assert.Contains("credentials refused", everything);
        AssertNoFragment(secretForms, everything);
    }

    /// <summary>
    /// A settle answered with a non-definite failure reason is pending; the reason is quoted into logs, the status API and
    /// the operation log. An upstream quoting the Authorization header it got must not put the token there.
    /// </summary>
    [Fact]
    public async Task Settle_PendingReasonQuotesAuthorizationHeader_TokenRedacted()
    {
        await using var only = await FakeFacilitator.StartAsync();
        only.On("/settle", static context => FakeFacilitator.WriteAsync(context, 200, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["success"] = false,
            ["errorReason"] = $"unexpected_settle_error: request with Authorization: {context.Request.Headers.Authorization} timed out",
            ["network"] = "base-sepolia",
        })));
        var settings = GatewayHost.Upstreams(("pending-echo", only.Url));
        settings["Upstreams:0:Auth:Kind"] = "bearer";
        settings["Upstreams:0:Auth:Token"] = Token;
        settings["Logging:LogLevel:Default"] = "Trace";
        var logs = new CapturedLogs();
        using var traces = new TraceCapture("pending-echo");
        await using var gateway = await GatewayHost.StartAsync(settings, logs: logs);

        using var response = await gateway.PostAsync("/settle", SignedPayments.V2);
        var callerText = await response.Content.ReadAsStringAsync();
        var status = await gateway.Client.GetStringAsync("/api/facilitator-status");

        var everything = string.Join("\n", logs.Entries.Select(static e => e.Message + e.Exception)) + "\n" + status + "\n" + callerText + "\n" + traces.Text;
        Assert.Contains("unexpected_settle_error", everything);
        AssertNoFragment(Token, everything);
    }

    public static TheoryData<string> JwtEchoForms() => ["split-line", "signature-only", "claims-and-signature"];

    /// <summary>CDP (or something posing as it) echoes the JWT it refused, cut so that no part starts with "eyJ".</summary>
    [Theory]
    [MemberData(nameof(JwtEchoForms))]
    public async Task Refusal_CdpEchoesJwtInPieces_NoPieceOfTheTokenShown(string form)
    {
        var key = CdpTestKey.Sec1();
        await using var cdp = await FakeFacilitator.StartAsync();
        var tokens = new ConcurrentQueue<string>();
        cdp.On(FakeCdpFacilitator.BasePath + "/verify", context =>
        {
            var jwt = context.Request.Headers.Authorization.ToString()["Bearer ".Length..];
            tokens.Enqueue(jwt);
            var parts = jwt.Split('.');
            var said = form switch
            {
                "split-line" => $"token {jwt[..6]}\n{jwt[6..60]}",
                "signature-only" => $"signature {parts[2]} does not verify",
                _ => $"claims {parts[1][..40]} signature {parts[2][..40]}",
            };
            return FakeFacilitator.WriteAsync(context, 401, JsonSerializer.Serialize(new Dictionary<string, string> { ["errorType"] = "unauthorized", ["errorMessage"] = said }));
        });
        var settings = GatewayHost.Upstreams(("cdp-echo-" + form, cdp.Url + FakeCdpFacilitator.BasePath));
        settings["Upstreams:0:Kind"] = "coinbase-cdp";
        settings["CDP_API_KEY_ID"] = key.KeyId;
        settings["CDP_API_KEY_SECRET"] = key.Secret;
        settings["Logging:LogLevel:Default"] = "Trace";
        var logs = new CapturedLogs();
        await using var gateway = await GatewayHost.StartAsync(settings, logs: logs);

        using var response = await gateway.PostAsync("/verify", SignedPayments.V2);
        var everything = string.Join("\n", logs.Entries.Select(static e => e.Message + e.Exception)) + "\n"
            + await gateway.Client.GetStringAsync("/api/facilitator-status") + "\n" + await response.Content.ReadAsStringAsync();

        var jwt = Assert.Single(tokens);
        Assert.Contains("credentials refused", everything);
        var parts = jwt.Split('.');
        AssertNoFragment(parts[2], everything);
        AssertNoFragment(jwt[6..60], everything);
        AssertNoFragment(parts[1], everything);
    }

    /// <summary>A stranger reading the status API must not learn a password carried in an upstream's URL.</summary>
    [Fact]
    public async Task StatusApi_UpstreamUrlWithUserInfo_PasswordNotShown()
    {
        await using var only = await FakeFacilitator.StartAsync();
        const string Password = "Pw9s3cr3tUserInfo77";
        var url = only.Url.Replace("http://", $"http://svc:{Password}@", StringComparison.Ordinal);
        var logs = new CapturedLogs();
        var settings = GatewayHost.Upstreams(("userinfo", url));
        settings["Logging:LogLevel:Default"] = "Trace";
        GatewayHost gateway;
        try
        {
            gateway = await GatewayHost.StartAsync(settings, logs: logs);
        }
        catch (InvalidSettingException ex)
        {
            Assert.DoesNotContain(Password, ex.Message, StringComparison.Ordinal);
            return;
        }

        await using (gateway)
        {
            (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();
            var everything = await gateway.Client.GetStringAsync("/api/facilitator-status") + "\n"
                + string.Join("\n", logs.Entries.Select(static e => e.Message + e.Exception));
            Assert.DoesNotContain(Password, everything, StringComparison.Ordinal);
        }
    }

    // ---------------------------------------------------------------- token correctness

    [Theory]
    [InlineData("POST", "http://[::1]/x402/verify", "POST [::1]/x402/verify")]
    [InlineData("POST", "https://svc:pw@api.cdp.coinbase.com/platform/v2/x402/verify", "POST api.cdp.coinbase.com/platform/v2/x402/verify")]
    [InlineData("POST", "https://api.cdp.coinbase.com/Platform/V2/x402/verify?region=us#frag", "POST api.cdp.coinbase.com/Platform/V2/x402/verify")]
    [InlineData("GET", "https://API.cdp.Coinbase.com:8443/platform/v2/x402/supported/", "GET api.cdp.coinbase.com:8443/platform/v2/x402/supported")]
    [InlineData("post", "http://bücher.example/x402/verify", "POST xn--bcher-kva.example/x402/verify")]
    [InlineData("POST", "http://127.0.0.1:80/x402/verify", "POST 127.0.0.1/x402/verify")]
    public void RequestUri_EdgeUrls_MethodHostPathOnly(string method, string url, string expected) =>
        Assert.Equal(expected, CdpRequestSigner.RequestUri(new HttpMethod(method), new Uri(url)));

    [Fact]
    public void Authorization_InjectedClock_IatNbfExpFollowTheClock()
    {
        var test = CdpTestKey.Ed25519();
        var clock = new ManualTimeProvider();
        var signer = new CdpRequestSigner(CdpApiKey.Parse(test.KeyId, test.Secret, "id", "secret"), clock);
        var uri = new Uri("https://api.cdp.coinbase.com/platform/v2/x402/settle");

        var first = Claims(signer.Authorization(HttpMethod.Post, uri));
        clock.Advance(TimeSpan.FromSeconds(61));
        var second = Claims(signer.Authorization(HttpMethod.Post, uri));

        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        Assert.Equal(now, second.GetProperty("iat").GetInt64());
        Assert.Equal(now, second.GetProperty("nbf").GetInt64());
        Assert.Equal(now + 120, second.GetProperty("exp").GetInt64());
        Assert.Equal(61, second.GetProperty("iat").GetInt64() - first.GetProperty("iat").GetInt64());
    }

    /// <summary>The CDP URL given with a trailing slash or an upper-case host: the token names the URL actually called.</summary>
    [Theory]
    [InlineData("trailing-slash")]
    [InlineData("upper-case-host")]
    public async Task Requests_CdpUrlSpelledDifferently_TokensStillAccepted(string spelling)
    {
        var key = CdpTestKey.Ed25519();
        await using var cdp = await FakeCdpFacilitator.StartAsync(key);
        var settings = CdpUpstreamTests.SeedSettings(cdp, key);
        settings["FACILITATOR_3_URL"] = spelling == "trailing-slash" ? cdp.Url + "/" : cdp.Url.Replace("127.0.0.1", "LOCALHOST", StringComparison.Ordinal);
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);

        Assert.Empty(cdp.Refusals);
        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
    }

    /// <summary>Fifty concurrent calls: fifty tokens, no nonce twice (the fake refuses a nonce it has seen).</summary>
    [Fact]
    public async Task Requests_ConcurrentVerifies_EveryAttemptItsOwnNonce()
    {
        var key = CdpTestKey.Sec1();
        await using var cdp = await FakeCdpFacilitator.StartAsync(key);
        await using var gateway = await GatewayHost.StartAsync(CdpUpstreamTests.SeedSettings(cdp, key));

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => gateway.PostAsync("/verify", SignedPayments.V2)));
        foreach (var r in responses)
        {
            r.Dispose();
        }

        Assert.Empty(cdp.Refusals);
        Assert.Equal(50, cdp.Accepted);
    }

    /// <summary>A verify retried on the same CDP upstream after a 503 carries a new token, not the first one again.</summary>
    [Fact]
    public async Task Verify_RetriedOnSameCdpUpstream_SecondAttemptHasItsOwnToken()
    {
        var key = CdpTestKey.Ed25519();
        await using var cdp = await FakeFacilitator.StartAsync();
        cdp.Sequence(
            FakeCdpFacilitator.BasePath + "/verify",
            1,
            static c => FakeFacilitator.WriteAsync(c, 503, "{}"),
            static c => FakeFacilitator.WriteAsync(c, 200, $$"""{"isValid":true,"payer":"{{FakeFacilitator.Payer}}"}"""));
        var settings = GatewayHost.Upstreams(("cdp", cdp.Url + FakeCdpFacilitator.BasePath));
        settings["Upstreams:0:Kind"] = "coinbase-cdp";
        settings["Upstreams:0:Retries"] = "1";
        settings["CDP_API_KEY_ID"] = key.KeyId;
        settings["CDP_API_KEY_SECRET"] = key.Secret;
        await using var gateway = await GatewayHost.StartAsync(settings);

        using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);

        Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        var authorizations = cdp.Received.Where(static r => r.Path.EndsWith("/verify", StringComparison.Ordinal)).Select(static r => r.Headers["Authorization"]).ToArray();
        Assert.Equal(2, authorizations.Length);
        Assert.Equal(2, authorizations.Distinct().Count());
        var nonces = new HashSet<string>();
        foreach (var a in authorizations)
        {
            var header = JsonDocument.Parse(Base64Url.DecodeFromChars(a["Bearer ".Length..].Split('.')[0])).RootElement;
            Assert.True(nonces.Add(header.GetProperty("nonce").GetString()!));
        }
    }

    /// <summary>
    /// Three upstreams on one host (CDP, a bearer one, a bare one): each request carries its own upstream's credentials
    /// only, on failover and on hedges alike.
    /// </summary>
    [Fact]
    public async Task Requests_UpstreamsSharingAHost_CredentialsNeverCrossToAnotherUpstream()
    {
        var key = CdpTestKey.Ed25519();
        await using var host = await FakeFacilitator.StartAsync();
        host.Answer("/a/platform/v2/x402/settle", 401, FakeCdpFacilitator.Unauthorized);
        host.Answer("/a/platform/v2/x402/verify", 401, FakeCdpFacilitator.Unauthorized);
        host.Answer("/b/settle", 403, """{"error":"forbidden"}""");
        host.AnswerLate("/b/verify", TimeSpan.FromMilliseconds(600), 503, "{}");
        var settings = GatewayHost.Upstreams(
            ("cdp-a", host.Url + "/a/platform/v2/x402"), ("bearer-b", host.Url + "/b"), ("bare-c", host.Url + "/c"));
        settings["Upstreams:0:Kind"] = "coinbase-cdp";
        settings["CDP_API_KEY_ID"] = key.KeyId;
        settings["CDP_API_KEY_SECRET"] = key.Secret;
        settings["Upstreams:1:Auth:Kind"] = "bearer";
        settings["Upstreams:1:Auth:Token"] = Token;
        settings["Upstreams:2:Headers:Settle:X-Only-C"] = "c";
        settings["Aggregator:HedgeMinDelayMs"] = "50";
        settings["Aggregator:HedgeMaxDelayMs"] = "50";
        await using var gateway = await GatewayHost.StartAsync(settings);

        (await gateway.PostAsync("/settle", SignedPayments.V2)).Dispose();
        (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();

        await Eventually.TrueAsync(() => host.Received.Count(r => r.Path.StartsWith("/b/", StringComparison.Ordinal)) >= 2, "bearer-b saw settle and verify");
        foreach (var request in host.Received)
        {
            var authorization = request.Headers.GetValueOrDefault("Authorization");
            if (request.Path.StartsWith("/a/", StringComparison.Ordinal))
            {
                Assert.StartsWith("Bearer eyJ", authorization);
                Assert.Single(authorization!.Split(','));
            }
            else if (request.Path.StartsWith("/b/", StringComparison.Ordinal))
            {
                Assert.Equal("Bearer " + Token, authorization);
            }
            else
            {
                Assert.Null(authorization);
            }

            Assert.Equal(request.Path == "/c/settle", request.Headers.ContainsKey("X-Only-C"));
        }

        Assert.Contains(host.Received, static r => r.Path == "/c/settle");
    }

    // ---------------------------------------------------------------- start-up

    public static TheoryData<string> UnusableKeys() =>
    [
        "p384", "secp256k1", "rsa-pkcs1", "rsa-pkcs8", "ed25519-pkcs8-pem", "ed25519-seed-only", "p256-public-key", "garbage-pem",
        "pem-and-its-public-key", "p256-in-hex",
    ];

    [Theory]
    [MemberData(nameof(UnusableKeys))]
    public async Task Start_CdpSecretOfAnotherKind_StopsNamingTheSettingNeverTheSecret(string kind)
    {
        var secret = UnusableKey(kind);
        var settings = CdpOnly("http://127.0.0.1:9/platform/v2/x402");
        settings["CDP_API_KEY_SECRET"] = secret;

        var error = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

        Assert.Contains("CDP_API_KEY_SECRET", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        foreach (var fragment in Fragments(secret))
        {
            Assert.DoesNotContain(fragment, error.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>The secret pasted into the id variable by mistake is not echoed either.</summary>
    [Fact]
    public async Task Start_CdpSecretPastedIntoKeyId_ErrorDoesNotEchoIt()
    {
        var key = CdpTestKey.Sec1(escapedNewlines: true);
        var settings = CdpOnly("http://127.0.0.1:9/platform/v2/x402");
        settings["CDP_API_KEY_ID"] = key.Secret;
        settings["CDP_API_KEY_SECRET"] = key.Secret;

        var error = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

        Assert.Contains("CDP_API_KEY_ID", error.Message, StringComparison.Ordinal);
        foreach (var fragment in key.SecretFragments())
        {
            Assert.DoesNotContain(fragment, error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("directory")]
    [InlineData("empty")]
    [InlineData("whitespace")]
    public async Task Start_CdpSecretFileUnusable_StopsNamingTheFileSetting(string problem)
    {
        var directory = Directory.CreateTempSubdirectory("review-cdp-");
        try
        {
            var path = problem == "directory" ? directory.FullName : Path.Combine(directory.FullName, "secret");
            if (problem != "directory")
            {
                await File.WriteAllTextAsync(path, problem == "empty" ? "" : " \r\n\t\n");
            }

            var settings = CdpOnly("http://127.0.0.1:9/platform/v2/x402");
            settings["CDP_API_KEY_SECRET_FILE"] = path;

            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));

            Assert.Contains("CDP_API_KEY_SECRET_FILE", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Secret files as editors and Windows tools write them: trailing CRLF, CRLF line ends inside a PEM, a BOM.</summary>
    [Theory]
    [InlineData("ed25519-crlf")]
    [InlineData("sec1-crlf-lines")]
    [InlineData("pkcs8-bom")]
    [InlineData("ed25519-bom")]
    public async Task Start_CdpSecretFileWithWindowsLineEnds_KeyReadAndTokensAccepted(string shape)
    {
        var key = shape.StartsWith("ed25519", StringComparison.Ordinal) ? CdpTestKey.Ed25519() : shape.StartsWith("sec1", StringComparison.Ordinal) ? CdpTestKey.Sec1() : CdpTestKey.Pkcs8();
        var text = shape.EndsWith("crlf", StringComparison.Ordinal) ? key.Secret.TrimEnd() + "\r\n"
            : shape.EndsWith("crlf-lines", StringComparison.Ordinal) ? key.Secret.Replace("\n", "\r\n", StringComparison.Ordinal)
            : key.Secret + "\n";
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: shape.EndsWith("bom", StringComparison.Ordinal)));
            await using var cdp = await FakeCdpFacilitator.StartAsync(key);
            var settings = CdpUpstreamTests.SeedSettings(cdp, key);
            settings.Remove("CDP_API_KEY_SECRET");
            settings["CDP_API_KEY_SECRET_FILE"] = path;
            await using var gateway = await GatewayHost.StartAsync(settings);

            using var verify = await gateway.PostAsync("/verify", SignedPayments.V2);

            Assert.Empty(cdp.Refusals);
            Assert.Equal(HttpStatusCode.OK, verify.StatusCode);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A bearer token file with a CRLF end is sent without the CR; one with two lines is refused without echoing it.</summary>
    [Fact]
    public async Task Start_TokenFileCrlfAndTwoLines_CrTrimmedOrRefusedSilently()
    {
        await using var first = await FakeFacilitator.StartAsync();
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, Token + "\r\n");
            var settings = GatewayHost.Upstreams(("tok", first.Url));
            settings["Upstreams:0:Auth:Kind"] = "bearer";
            settings["Upstreams:0:Auth:TokenFile"] = path;
            await using (var gateway = await GatewayHost.StartAsync(settings))
            {
                (await gateway.PostAsync("/verify", SignedPayments.V2)).Dispose();
                Assert.Equal("Bearer " + Token, Assert.Single(first.Received).Headers["Authorization"]);
            }

            await File.WriteAllTextAsync(path, Token + "\r\n# rotated 2026-01-01 " + Token + "\n");
            var error = await Assert.ThrowsAsync<InvalidSettingException>(() => GatewayHost.StartAsync(settings));
            Assert.Contains("Upstreams:0:Auth:Token", error.Message, StringComparison.Ordinal);
            AssertNoFragment(Token, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The real process: a P-384 key in CDP_API_KEY_SECRET exits 2 with one line naming the setting.</summary>
    [Fact]
    public async Task Main_CdpKeyOnWrongCurve_ExitCode2AndOneLineWithoutTheSecret()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Facilitator.Fast.dll");
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "Facilitator.Fast.runtimeconfig.json")), "runtimeconfig next to the test assembly");
        var secret = UnusableKey("p384");
        var run = await ProcessRunner.RunAsync("dotnet", [dll], AppContext.BaseDirectory, new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{LoopbackPorts.Free()}",
            ["FACILITATOR_1_URL"] = "http://127.0.0.1:9",
            ["FACILITATOR_2_ENABLED"] = "false",
            ["FACILITATOR_3_URL"] = "http://127.0.0.1:9/platform/v2/x402",
            ["CDP_API_KEY_ID"] = "organizations/o/apiKeys/k",
            ["CDP_API_KEY_SECRET"] = secret.Replace("\n", "\\n", StringComparison.Ordinal),
            ["FACILITATOR_HEALTH_CHECK"] = "false",
        }, TimeSpan.FromSeconds(60));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("CDP_API_KEY_SECRET", run.StandardError, StringComparison.Ordinal);
        var output = run.StandardOutput + run.StandardError;
        foreach (var fragment in Fragments(secret))
        {
            Assert.DoesNotContain(fragment, output, StringComparison.Ordinal);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static Dictionary<string, string?> TwoUpstreams(FakeFacilitator primary, FakeFacilitator secondary, bool bearerOnFirst)
    {
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:Hedging"] = "false";
        if (bearerOnFirst)
        {
            settings["Upstreams:0:Auth:Kind"] = "bearer";
            settings["Upstreams:0:Auth:Token"] = Token;
        }

        return settings;
    }

    private static Dictionary<string, string?> CdpOnly(string url)
    {
        var settings = GatewayHost.Upstreams(("cdp", url));
        settings["Upstreams:0:Kind"] = "coinbase-cdp";
        settings["CDP_API_KEY_ID"] = "organizations/5f0b7d0e-1111-4222-8333-944455556666/apiKeys/0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d";
        return settings;
    }

    private static string UnusableKey(string kind)
    {
        switch (kind)
        {
            case "p384":
                using (var k = ECDsa.Create(ECCurve.NamedCurves.nistP384))
                {
                    return k.ExportECPrivateKeyPem();
                }

            case "secp256k1":
                using (var k = ECDsa.Create(ECCurve.CreateFromFriendlyName("secp256k1")))
                {
                    return k.ExportECPrivateKeyPem();
                }

            case "rsa-pkcs1":
                using (var r = RSA.Create(2048))
                {
                    return r.ExportRSAPrivateKeyPem();
                }

            case "rsa-pkcs8":
                using (var r = RSA.Create(2048))
                {
                    return r.ExportPkcs8PrivateKeyPem();
                }

            case "ed25519-pkcs8-pem":
                // RFC 8410 PKCS#8 of an Ed25519 seed: 302e020100300506032b657004220420 || seed.
                var seed = RandomNumberGenerator.GetBytes(32);
                byte[] der = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20, .. seed];
                return PemEncoding.WriteString("PRIVATE KEY", der);
            case "ed25519-seed-only":
                return Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            case "p256-public-key":
                using (var k = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                {
                    return k.ExportSubjectPublicKeyInfoPem();
                }

            case "garbage-pem":
                return "-----BEGIN EC PRIVATE KEY-----\n" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(121)) + "\n-----END EC PRIVATE KEY-----";
            case "pem-and-its-public-key":
                using (var k = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                {
                    return k.ExportECPrivateKeyPem() + "\n" + k.ExportSubjectPublicKeyInfoPem() + "\n" + k.ExportPkcs8PrivateKeyPem();
                }

            default:
                return Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        }
    }

    /// <summary>16-character pieces of a secret's base64 lines (and the whole of a short one).</summary>
    private static IEnumerable<string> Fragments(string secret)
    {
        foreach (var line in secret.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith("-----", StringComparison.Ordinal) || trimmed.Length < 16)
            {
                continue;
            }

            for (var i = 0; i + 16 <= trimmed.Length; i += 16)
            {
                yield return trimmed.Substring(i, 16);
            }
        }
    }

    /// <summary>No 10-character piece of <paramref name="secret"/> appears in <paramref name="text"/>.</summary>
    private static void AssertNoFragment(string secret, string text)
    {
        const int Piece = 10;
        for (var i = 0; i + Piece <= secret.Length; i += Piece / 2)
        {
            var fragment = secret.Substring(i, Piece);
            Assert.False(text.Contains(fragment, StringComparison.Ordinal), $"'{fragment}' (part of a secret) appears in: {Around(text, fragment)}");
        }
    }

    private static string Around(string text, string fragment)
    {
        var at = text.IndexOf(fragment, StringComparison.Ordinal);
        var from = Math.Max(0, at - 120);
        return text.Substring(from, Math.Min(text.Length - from, 240 + fragment.Length));
    }

    private static JsonElement ById(JsonElement section, string id) =>
        section.GetProperty("facilitators").EnumerateArray().Single(f => f.GetProperty("id").GetString() == id);

    private static JsonElement Claims(string authorization) =>
        JsonDocument.Parse(Base64Url.DecodeFromChars(authorization["Bearer ".Length..].Split('.')[1])).RootElement.Clone();

    /// <summary>Every activity of the gateway's source for one upstream id: its tags and status, as text.</summary>
    private sealed class TraceCapture : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<string> _lines = new();

        public TraceCapture(string upstreamId)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = static source => source.Name == FacilitatorTelemetry.Name,
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (activity.GetTagItem("facilitator.upstream.id") as string != upstreamId)
                    {
                        return;
                    }

                    var line = new StringBuilder(activity.DisplayName).Append(' ').Append(activity.StatusDescription);
                    foreach (var tag in activity.TagObjects)
                    {
                        line.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
                    }

                    foreach (var e in activity.Events)
                    {
                        line.Append(" event ").Append(e.Name);
                        foreach (var tag in e.Tags)
                        {
                            line.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
                        }
                    }

                    _lines.Enqueue(line.ToString());
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public string Text => string.Join("\n", _lines);

        public void Dispose() => _listener.Dispose();
    }
}
