using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Facilitator.Fast.Load;

/// <summary>
/// A fake upstream facilitator for load runs: a real HTTP server on loopback that answers in the official shapes
/// after a latency drawn from a two-point distribution (most answers fast, a fraction slow), and counts what it got.
/// </summary>
internal sealed class LatencyUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TimeSpan _fast;
    private readonly TimeSpan _slow;
    private readonly double _slowFraction;
    private long _requests;
    private long _settles;
    private long _verifies;

    private LatencyUpstream(WebApplication app, TimeSpan fast, TimeSpan slow, double slowFraction)
    {
        _app = app;
        _fast = fast;
        _slow = slow;
        _slowFraction = slowFraction;
    }

    public string Url { get; private set; } = "";

    public long Requests => Volatile.Read(ref _requests);

    public long Settles => Volatile.Read(ref _settles);

    public long Verifies => Volatile.Read(ref _verifies);

    public static async Task<LatencyUpstream> StartAsync(TimeSpan fast, TimeSpan slow, double slowFraction)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var upstream = new LatencyUpstream(app, fast, slow, slowFraction);
        app.Run(upstream.HandleAsync);
        await app.StartAsync();
        upstream.Url = app.Urls.First();
        return upstream;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        var counted = context.Request.Path.Value switch
        {
            "/settle" => Interlocked.Increment(ref _settles),
            "/verify" => Interlocked.Increment(ref _verifies),
            _ => 0,
        };
        _ = counted;
        await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
        var delay = Random.Shared.NextDouble() < _slowFraction ? _slow : _fast;
        try
        {
            await Task.Delay(delay, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        context.Response.ContentType = "application/json";
        var path = context.Request.Path.Value ?? "";
        await context.Response.WriteAsync(path switch
        {
            "/verify" => """{"isValid":true,"payer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}""",
            "/settle" => """{"success":true,"transaction":"0xabc","network":"eip155:84532","payer":"0x857b06519E91e3A54538791bDbb0E22373e36b66"}""",
            _ => """{"kinds":[{"x402Version":2,"scheme":"exact","network":"eip155:84532"},{"x402Version":1,"scheme":"exact","network":"base-sepolia"}],"extensions":[],"signers":{}}""",
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
