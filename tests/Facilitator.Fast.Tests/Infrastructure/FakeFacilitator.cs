using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// An upstream facilitator for tests: a real Kestrel server on a loopback port whose answers are scripted per
/// path, and which records every request it received (path, query, headers, exact body bytes).
/// </summary>
internal sealed class FakeFacilitator : IAsyncDisposable
{
    public const string Payer = "0x857b06519E91e3A54538791bDbb0E22373e36b66";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<HttpContext, Task>> _handlers = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private int _cancelled;
    private int _completedLate;

    private FakeFacilitator(WebApplication app)
    {
        _app = app;
        Answer("/verify", 200, $$"""{"isValid":true,"payer":"{{Payer}}"}""");
        Answer("/settle", 200, $$"""{"success":true,"transaction":"0xabc123","network":"base-sepolia","payer":"{{Payer}}"}""");
        Answer("/supported", 200, """{"kinds":[{"x402Version":1,"scheme":"exact","network":"base-sepolia"},{"x402Version":2,"scheme":"exact","network":"eip155:84532"}],"extensions":[],"signers":{}}""");
        Answer("/discovery/resources", 200, """{"x402Version":1,"items":[],"pagination":{"limit":20,"offset":0,"total":0}}""");
    }

    public string Url { get; private set; } = "";

    public IReadOnlyCollection<ReceivedRequest> Received => _received;

    /// <summary>Requests whose handler saw the caller cancel (the gateway gave up on them).</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    /// <summary>Requests answered by <see cref="AnswerLate"/> after their whole delay.</summary>
    public int CompletedLate => Volatile.Read(ref _completedLate);

    public static async Task<FakeFacilitator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeFacilitator(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        fake.Url = app.Urls.First();
        return fake;
    }

    public int CountOf(string path) => _received.Count(r => string.Equals(r.Path, path, StringComparison.OrdinalIgnoreCase));

    public void On(string path, Func<HttpContext, Task> handler) => _handlers[path] = handler;

    public void Answer(string path, int status, string json) => On(path, context => WriteAsync(context, status, json));

    /// <summary>Never answers: waits until the caller gives up.</summary>
    public void Hang(string path) => On(path, async context =>
    {
        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _cancelled);
        }
    });

    /// <summary>Answers after <paramref name="delay"/>, unless the caller gives up first (counted in <see cref="Cancelled"/>).</summary>
    public void AnswerLate(string path, TimeSpan delay, int status, string json) => On(path, async context =>
    {
        try
        {
            await Task.Delay(delay, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _cancelled);
            return;
        }

        await WriteAsync(context, status, json);
        Interlocked.Increment(ref _completedLate);
    });

    /// <summary>Holds every request until the returned source is completed, then answers.</summary>
    public TaskCompletionSource Hold(string path, int status, string json)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        On(path, async context =>
        {
            await release.Task;
            await WriteAsync(context, status, json);
        });
        return release;
    }

    /// <summary>Reads the request, then drops the connection without answering.</summary>
    public void Drop(string path) => On(path, context =>
    {
        context.Abort();
        return Task.CompletedTask;
    });

    /// <summary>Answers <paramref name="first"/> to the first <paramref name="count"/> requests, then <paramref name="then"/>.</summary>
    public void Sequence(string path, int count, Func<HttpContext, Task> first, Func<HttpContext, Task> then)
    {
        var seen = 0;
        On(path, context => Interlocked.Increment(ref seen) <= count ? first(context) : then(context));
    }

    /// <summary>The request being answered, as recorded (its body was read before the handler ran).</summary>
    public static ReceivedRequest RequestOf(HttpContext context) => (ReceivedRequest)context.Items[typeof(ReceivedRequest)]!;

    public static Task WriteAsync(HttpContext context, int status, string body, string contentType = "application/json")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        return context.Response.WriteAsync(body);
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var received = new ReceivedRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "",
            context.Request.QueryString.Value ?? "",
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            buffer.ToArray())
        {
            ConnectionId = context.Connection.Id,
        };
        _received.Enqueue(received);
        context.Items[typeof(ReceivedRequest)] = received;

        var path = context.Request.Path.Value ?? "";
        if (_handlers.TryGetValue(path, out var handler))
        {
            await handler(context);
        }
        else
        {
            context.Response.StatusCode = 404;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record ReceivedRequest(string Method, string Path, string Query, Dictionary<string, string> Headers, byte[] Body)
{
    /// <summary>The connection it came on (Kestrel's id), to count the connections a client opened.</summary>
    public string ConnectionId { get; init; } = "";

    public string BodyText => Encoding.UTF8.GetString(Body);
}
