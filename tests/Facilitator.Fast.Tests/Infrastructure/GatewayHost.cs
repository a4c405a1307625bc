using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>The real service, started in-process on a loopback port with the settings a test gives it.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app, string url)
    {
        _app = app;
        Client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the gateway. Settings are configuration keys, including the seed's environment variable names.</summary>
    /// <param name="logs">Also receives every log entry, for tests of what is logged.</param>
    public static async Task<GatewayHost> StartAsync(IDictionary<string, string?> settings, TimeProvider? time = null, CapturedLogs? logs = null)
    {
        // Local verification keeps the service's default (enforce), as in production; a test of another mode sets it.
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Logging:LogLevel:Default"] = "Warning",

            // Active probes would add upstream calls that tests count; tests of active health turn them on.
            ["FACILITATOR_HEALTH_CHECK"] = "false",

            // Tests send bursts from one address; tests of rate limiting turn it on.
            ["RateLimit:Enabled"] = "false",

            // Tests open up to 100 connections at once from one address; tests of the cap set it.
            ["Edge:Limits:MaxConnectionsPerClient"] = "0",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        // No test may reach the seed's public defaults: an upstream list must always be given.
        var app = Program.Build(
            ["--urls", "http://127.0.0.1:0"],
            configuration => configuration.AddInMemoryCollection(all),
            services =>
            {
                if (time is not null)
                {
                    services.AddSingleton(time);
                }

                if (logs is not null)
                {
                    services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs);
                }
            });
        await app.StartAsync();
        return new GatewayHost(app, app.Urls.First());
    }

    /// <summary>Settings for upstreams given as (id, url) pairs, tried in the order given.</summary>
    public static Dictionary<string, string?> Upstreams(params (string Id, string Url)[] upstreams)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < upstreams.Length; i++)
        {
            settings[$"Upstreams:{i}:Id"] = upstreams[i].Id;
            settings[$"Upstreams:{i}:Url"] = upstreams[i].Url;
        }

        return settings;
    }

    public Task<HttpResponseMessage> PostAsync(string path, string json) =>
        Client.PostAsync(path, new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));

    public Task<HttpResponseMessage> PostAsync(string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return Client.PostAsync(path, content);
    }

    /// <summary>Stops the host as a deploy does (graceful: what is in flight may finish), without disposing it.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
