using Microsoft.Playwright;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// The system's headless Chromium (Debian's <c>chromium</c>, or <c>CHROMIUM_PATH</c>) driven by Playwright, launched once
/// for a test class. Each test opens its own context, so session storage and cookies never cross tests.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public static string ExecutablePath { get; } = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            return;
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ExecutablePath, Headless = true });
    }

    /// <summary>A new page in a context of its own, recording every request URL and every console error (CSP violations among them).</summary>
    public async Task<BrowserPage> OpenAsync()
    {
        RepositoryPaths.Require(File.Exists(ExecutablePath), $"Chromium ({ExecutablePath})");
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1100 } });
        var page = await context.NewPageAsync();
        var opened = new BrowserPage(context, page);
        page.Request += (_, request) => opened.Requests.Enqueue(request.Url);
        page.WebSocket += (_, socket) => opened.Requests.Enqueue(socket.Url);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                opened.ConsoleErrors.Enqueue(message.Text);
            }
        };
        page.PageError += (_, error) => opened.ConsoleErrors.Enqueue(error);
        return opened;
    }

    public async ValueTask DisposeAsync()
    {
        if (_playwright is not null)
        {
            await Browser.DisposeAsync();
            _playwright.Dispose();
        }
    }
}

/// <summary>A page with what it asked for and what it complained about.</summary>
public sealed class BrowserPage(IBrowserContext context, IPage page) : IAsyncDisposable
{
    public IPage Page { get; } = page;

    public System.Collections.Concurrent.ConcurrentQueue<string> Requests { get; } = new();

    public System.Collections.Concurrent.ConcurrentQueue<string> ConsoleErrors { get; } = new();

    public ValueTask DisposeAsync() => context.DisposeAsync();
}
