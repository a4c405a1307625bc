using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// The real service on loopback with endpoints of a test's own mapped beside the shipped ones (an endpoint that throws,
/// say): what the service does around a handler — the shield, CORS, the limits — is then tested with the real pipeline.
/// </summary>
internal sealed class ServiceWithExtraEndpoints : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServiceWithExtraEndpoints(WebApplication app)
    {
        _app = app;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }

    public Uri BaseUri => Client.BaseAddress!;

    /// <param name="time">The service's clock, when the test moves it.</param>
    public static async Task<ServiceWithExtraEndpoints> StartAsync(Dictionary<string, string?> settings, Action<WebApplication> map, TimeProvider? time = null)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Logging:LogLevel:Default"] = "Critical",
            ["FACILITATOR_HEALTH_CHECK"] = "false",
            ["Edge:Limits:MaxConnectionsPerClient"] = "0",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        var app = Program.Build(
            ["--urls", "http://127.0.0.1:0"],
            configuration => configuration.AddInMemoryCollection(all),
            services =>
            {
                if (time is not null)
                {
                    services.AddSingleton(time);
                }
            });
        map(app);
        await app.StartAsync();
        return new ServiceWithExtraEndpoints(app);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
