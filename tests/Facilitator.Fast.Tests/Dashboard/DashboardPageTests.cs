using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Facilitator.Fast.Tests.Dashboard;

/// <summary>
/// The status page in a real headless Chromium against the service and fake upstreams on loopback: what it shows, how
/// fast the feed is, that it renders the service's values as text, that it works with authentication on and keeps the
/// key out of URLs, that it reconnects after a restart, and that it loads nothing from anywhere but the service.
/// </summary>
public sealed class DashboardPageTests(Chromium chromium) : IClassFixture<Chromium>
{
    private const string Supported = """{"kinds":[{"x402Version":2,"scheme":"exact","network":"eip155:84532"},{"x402Version":1,"scheme":"exact","network":"base-sepolia"}],"extensions":[],"signers":{}}""";
    private static readonly string Valid = $$"""{"isValid":true,"payer":"{{SignedPayments.Payer}}"}""";
    private static readonly string Settled = $$"""{"success":true,"transaction":"0x{{new string('a', 64)}}","network":"eip155:84532","payer":"{{SignedPayments.Payer}}"}""";

    [Fact]
    public async Task Dashboard_WithFakeUpstreams_ShowsUpstreamsFeedFiguresAndAFailingUpstream()
    {
        await using var alpha = await FakeFacilitator.StartAsync();
        await using var beta = await FakeFacilitator.StartAsync();
        foreach (var upstream in new[] { alpha, beta })
        {
            upstream.Answer("/supported", 200, Supported);
            upstream.Answer("/verify", 200, Valid);
            upstream.Answer("/settle", 200, Settled);
        }

        await using var gateway = await GatewayHost.StartAsync(Settings(alpha, beta));
        (await gateway.Client.GetAsync("/supported")).EnsureSuccessStatusCode();

        await using var browser = await chromium.OpenAsync();
        var page = browser.Page;
        var opened = System.Diagnostics.Stopwatch.StartNew();
        var response = await page.GotoAsync(gateway.Client.BaseAddress + "dashboard");
        Assert.Equal(200, response!.Status);
        await Expect(page, "#upstreams tr[data-upstream='alpha'] td.health", "healthy");
        await Expect(page, "#upstreams tr[data-upstream='beta'] td.health", "healthy");
        await Expect(page, "#upstreams tr[data-upstream='alpha'] td.traffic", "taking traffic");
        await Expect(page, "#upstreams tr[data-upstream='beta'] td.traffic", "standby");
        Assert.Contains("eip155:84532", await page.InnerTextAsync("#upstreams tr[data-upstream='alpha']"));
        await page.WaitForSelectorAsync("#feed-state[data-state='live']");
        await Expect(page, "#figures", "payments0");
        Assert.Equal(3, await page.Locator("canvas").CountAsync() - await page.Locator("#chart-revenue canvas").CountAsync());

        // A verify through the gateway is in the feed within 2 s.
        (await gateway.PostAsync("/verify", SignedPayments.V2)).EnsureSuccessStatusCode();
        await page.WaitForSelectorAsync("#feed tr[data-kind='payment:verified']", new PageWaitForSelectorOptions { Timeout = 2000 });
        Assert.Contains("alpha", await page.InnerTextAsync("#feed tr[data-kind='payment:verified']"));

        // A settle is in the feed, and the /v1 figures follow it.
        (await gateway.PostAsync("/settle", SignedPayments.V2)).EnsureSuccessStatusCode();
        await page.WaitForSelectorAsync("#feed tr[data-kind='payment:settled']", new PageWaitForSelectorOptions { Timeout = 2000 });
        await Expect(page, "#figures", "$0.01");
        await Expect(page, "#figures", "payments1");

        // The first upstream starts failing: the verify fails over to the second, and the page shows the first unhealthy.
        alpha.Answer("/verify", 500, """{"error":"database is down"}""");
        (await gateway.PostAsync("/verify", SignedPayments.V2)).EnsureSuccessStatusCode();
        await Expect(page, "#upstreams tr[data-upstream='alpha'] td.health", "unhealthy");
        await Expect(page, "#upstreams tr[data-upstream='alpha'] td.traffic", "no");
        await Expect(page, "#upstreams tr[data-upstream='beta'] td.traffic", "taking traffic");
        await Expect(page, "#service-state", "1/2 upstreams healthy");

        // The feed filters by network and payee.
        await page.FillAsync("#filter-network", "eip155:1");
        await Eventually.TrueAsync(async () => await page.Locator("#feed tbody tr:visible").CountAsync() == 0, "the network filter hides the rows");
        await page.FillAsync("#filter-network", "84532");
        await page.FillAsync("#filter-payee", PaymentSigner.PayTo[..10]);
        await Eventually.TrueAsync(async () => await page.Locator("#feed tbody tr:visible").CountAsync() > 0, "the payee filter keeps the rows");
        await page.FillAsync("#filter-payee", "");
        await page.FillAsync("#filter-network", "");

        // The page's cost is bounded: one status request per interval (1 s here), plus one after each health change.
        var statusRequests = browser.Requests.Count(url => url.Contains("/api/facilitator-status", StringComparison.Ordinal));
        Assert.InRange(statusRequests, 1, (int)(opened.Elapsed.TotalSeconds / 1) + 3);

        Directory.CreateDirectory(Path.Combine(RepositoryPaths.Root, "artifacts"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepositoryPaths.Root, "artifacts", "dashboard.png"), FullPage = true });
        AssertSelfContained(browser, gateway);
    }

    [Fact]
    public async Task Dashboard_MarkupInPayeeOrUpstreamReason_RendersAsText()
    {
        const string Payee = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=1</script>";
        const string Reason = "<script>window.__xss=2</script>";
        await using var alpha = await FakeFacilitator.StartAsync();
        alpha.Answer("/supported", 200, Supported);
        alpha.Answer("/verify", 200, $$"""{"isValid":false,"invalidReason":"{{Reason.Replace("<", "\\u003c", StringComparison.Ordinal)}}","payer":"{{SignedPayments.Payer}}"}""");
        await using var gateway = await GatewayHost.StartAsync(Settings(alpha));

        await using var browser = await chromium.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(gateway.Client.BaseAddress + "dashboard");
        await page.WaitForSelectorAsync("#feed-state[data-state='live']");

        // A payee from the service is always an address; this one is published as if it were not, to show the page's side.
        var events = gateway.Services.GetRequiredService<IPaymentEvents>();
        events.Failed(PaymentFacts.From(Record(Payee)), FacilitatorOperation.Verify, "invalid_exact_evm_payload_recipient_mismatch", Reason, "local");
        (await gateway.PostAsync("/verify", SignedPayments.V2)).EnsureSuccessStatusCode();

        await page.WaitForSelectorAsync("#feed tr[data-kind='payment:failed'] >> nth=1");
        var payees = await page.Locator("#feed td.payee").AllTextContentsAsync();
        Assert.Contains(Payee, payees);
        var text = await page.InnerTextAsync("#feed tbody");
        Assert.Contains(Reason, text);
        Assert.Equal(0, await page.Locator("#feed img, #feed script").CountAsync());
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__xss"));
        AssertSelfContained(browser, gateway);
    }

    [Fact]
    public async Task Dashboard_WithApiKey_AsksForItKeepsItInSessionStorageAndNeverInAUrl()
    {
        const string Key = "dashboard-operator-key-0123456789";
        await using var alpha = await FakeFacilitator.StartAsync();
        alpha.Answer("/supported", 200, Supported);
        alpha.Answer("/verify", 200, Valid);
        var settings = Settings(alpha);
        settings["Auth:ApiKeys:0:Name"] = "operator";
        settings["Auth:ApiKeys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)));
        await using var gateway = await GatewayHost.StartAsync(settings);

        await using var browser = await chromium.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(gateway.Client.BaseAddress + "dashboard");
        await page.WaitForSelectorAsync("#sign-in:visible");
        Assert.True(await page.Locator("#main").IsHiddenAsync());

        await page.FillAsync("#key", "not-the-key");
        await page.ClickAsync("#sign-in button[type=submit]");
        await Expect(page, "#sign-in-reason", "refused");

        await page.FillAsync("#key", Key);
        await page.ClickAsync("#sign-in button[type=submit]");
        await Expect(page, "#upstreams tr[data-upstream='alpha'] td.health", "healthy");
        await page.WaitForSelectorAsync("#feed-state[data-state='live']");
        Assert.Equal(Key, await page.EvaluateAsync<string>("() => sessionStorage.getItem('facilitator.fast.credential')"));

        (await gateway.PostAsync("/verify", SignedPayments.V2)).EnsureSuccessStatusCode();
        await page.WaitForSelectorAsync("#feed tr[data-kind='payment:verified']", new PageWaitForSelectorOptions { Timeout = 2000 });

        Assert.DoesNotContain(browser.Requests, url => url.Contains(Key, StringComparison.Ordinal));
        Assert.DoesNotContain(browser.Requests, url => url.Contains("token=", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(Key, await page.ContentAsync(), StringComparison.Ordinal);

        // Forgetting the key clears it and asks again.
        await page.ClickAsync("#sign-out");
        await page.WaitForSelectorAsync("#sign-in:visible");
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('facilitator.fast.credential')"));
    }

    [Fact]
    public async Task Dashboard_ServiceRestarts_FeedReconnectsWithBackOff()
    {
        await using var alpha = await FakeFacilitator.StartAsync();
        alpha.Answer("/supported", 200, Supported);
        alpha.Answer("/verify", 200, Valid);
        var settings = Settings(alpha);
        settings["Urls"] = $"http://127.0.0.1:{LoopbackPorts.Free()}";
        var gateway = await GatewayHost.StartAsync(settings);
        try
        {
            await using var browser = await chromium.OpenAsync();
            var page = browser.Page;
            await page.GotoAsync(gateway.Client.BaseAddress + "dashboard");
            await page.WaitForSelectorAsync("#feed-state[data-state='live']");

            await gateway.DisposeAsync();
            await page.WaitForSelectorAsync("#feed-state[data-state='reconnecting']");
            Assert.Contains("reconnecting in", await page.InnerTextAsync("#feed-state"));

            gateway = await GatewayHost.StartAsync(settings);
            await page.WaitForSelectorAsync("#feed-state[data-state='live']", new PageWaitForSelectorOptions { Timeout = 20_000 });
            (await gateway.PostAsync("/verify", SignedPayments.V2)).EnsureSuccessStatusCode();
            await page.WaitForSelectorAsync("#feed tr[data-kind='payment:verified']", new PageWaitForSelectorOptions { Timeout = 2000 });
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    [Fact]
    public async Task Docs_RendersTheOpenApiDocumentWithTheEmbeddedReference()
    {
        await using var alpha = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(Settings(alpha));
        await using var browser = await chromium.OpenAsync();
        var page = browser.Page;
        await page.GotoAsync(gateway.Client.BaseAddress + "docs");
        await Expect(page, "#reference .info", "Facilitator.Fast");
        await Expect(page, "#reference .info", "OAS 3.1");
        await Expect(page, "#reference", "/v1/analytics/overview");
        await Expect(page, "#reference", "/verify");
        AssertSelfContained(browser, gateway);
    }

    private static Dictionary<string, string?> Settings(params FakeFacilitator[] upstreams)
    {
        var settings = GatewayHost.Upstreams([.. upstreams.Select((u, i) => (i == 0 ? "alpha" : "beta", u.Url))]);
        settings["Dashboard:StatusIntervalMs"] = "1000";
        settings["FACILITATOR_MAX_CONSECUTIVE_FAILURES"] = "1";
        settings["FACILITATOR_RETRIES"] = "0";
        return settings;
    }

    private static PaymentRecord Record(string payee) => new(
        Guid.NewGuid(), PaymentStatus.Verified, Sha256Hash.Of("x"u8), SignedPayments.Payer, payee, "0.01", "10000",
        PaymentSigner.BaseSepoliaUsdc, "USDC", 6, "eip155:84532", "0", "local", null, null, 0, null, null, 0, null);

    /// <summary>Waits (with a deadline) until the element's text contains <paramref name="text"/>.</summary>
    private static async Task Expect(IPage page, string selector, string text)
    {
        try
        {
            await page.WaitForFunctionAsync(
                "([selector, text]) => document.querySelector(selector)?.textContent.includes(text)",
                new object[] { selector, text },
                new PageWaitForFunctionOptions { Timeout = 10_000 });
        }
        catch (TimeoutException)
        {
            var shown = await page.Locator(selector).AllTextContentsAsync();
            Assert.Fail($"'{selector}' did not show '{text}' in time; it shows: {string.Join(" | ", shown)}");
        }
    }

    /// <summary>Nothing was fetched from elsewhere than the service, and the browser reported no error (a CSP refusal is one).</summary>
    private static void AssertSelfContained(BrowserPage browser, GatewayHost gateway)
    {
        var origin = gateway.Client.BaseAddress!.GetLeftPart(UriPartial.Authority);
        var wsOrigin = "ws" + origin[4..];
        Assert.All(browser.Requests, url => Assert.True(
            url.StartsWith(origin, StringComparison.Ordinal) || url.StartsWith(wsOrigin, StringComparison.Ordinal), $"{url} is not the service's"));
        Assert.Empty(browser.ConsoleErrors);
    }
}
