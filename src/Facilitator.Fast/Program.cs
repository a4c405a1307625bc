using Facilitator.Fast.Analytics;
using Facilitator.Fast.Api;
using Facilitator.Fast.Dashboard;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Events;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Health;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;
using Facilitator.Fast.Telemetry;
using Facilitator.Fast;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Facilitator.Fast;

/// <summary>The composition root: configuration, services, middleware and endpoints, and nothing else.</summary>
public static partial class Program
{
    public static int Main(string[] args)
    {
        WebApplication app;
        try
        {
            app = Build(args);
        }
        catch (InvalidSettingException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 2;
        }

        try
        {
            app.StartAsync().GetAwaiter().GetResult();
        }
        catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException || ex.Message.StartsWith("Failed to bind", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"Invalid setting {ListenAddresses.Setting}: {ex.Message.ReplaceLineEndings(" ")}");
            return 2;
        }

        // As app.Run() would: wait, then dispose (which flushes the loggers and exporters).
        app.WaitForShutdown();
        app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return 0;
    }

    /// <summary>
    /// Whether the runtime completes socket operations on its event threads (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>,
    /// off by default); Kestrel's scheduling follows it, so the switch is one.
    /// </summary>
    internal static bool InlineSocketCompletions { get; } = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1";

    /// <summary>Where the service listens when neither <c>--urls</c>, <c>ASPNETCORE_URLS</c> nor <c>Urls</c> says.</summary>
    public const string DefaultUrl = "http://localhost:4020";

    /// <summary>Builds the service. <paramref name="configure"/> adds configuration sources last and
    /// <paramref name="overrideServices"/> replaces services (a test's clock); production passes neither.</summary>
    public static WebApplication Build(
        string[] args, Action<IConfigurationBuilder>? configure = null, Action<IServiceCollection>? overrideServices = null)
    {
        // appsettings.json is read from beside the binary, whatever the working directory: started from elsewhere, the
        // service would otherwise run silently on its built-in defaults.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder.Configuration);

        var routing = RoutingConfiguration.Load(builder.Configuration);
        var settlement = SettlementPolicy.Load(builder.Configuration, routing);
        var localVerification = LocalVerificationSettings.Load(builder.Configuration);
        var payments = PaymentSettings.Load(builder.Configuration);
        var edge = new EdgeOptions();
        var auth = new AuthOptions();
        var rateLimit = new RateLimitOptions();
        var dashboard = DashboardOptions.Load(builder.Configuration);
        try
        {
            builder.Configuration.GetSection(EdgeOptions.SectionName).Bind(edge);
            builder.Configuration.GetSection(AuthOptions.SectionName).Bind(auth);
            builder.Configuration.GetSection(RateLimitOptions.SectionName).Bind(rateLimit);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key in its message ("... at 'Edge:Limits:MaxRequestHeaderCount' to type ...").
            throw new InvalidSettingException("configuration", ex.Message.ReplaceLineEndings(" "));
        }

        edge.Limits.Validate();
        var forwarding = new TrustedProxyForwarding(edge.TrustedProxies, edge.ForwardedHeader);
        ListenAddresses.Validate(builder.Configuration[WebHostDefaults.ServerUrlsKey]);
        if (string.IsNullOrWhiteSpace(builder.Configuration[WebHostDefaults.ServerUrlsKey])
            && string.IsNullOrWhiteSpace(builder.Configuration["HTTP_PORTS"]) && string.IsNullOrWhiteSpace(builder.Configuration["HTTPS_PORTS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            var limits = edge.Limits;
            // The handlers enforce the request size themselves (413 in the x402 shape); this is the backstop.
            kestrel.Limits.MaxRequestBodySize = Math.Max(routing.Aggregator.MaxRequestBodyBytes * 2L, 1024 * 1024);
            kestrel.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalSize;
            kestrel.Limits.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
            kestrel.Limits.MaxRequestLineSize = limits.MaxRequestLineSize;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(limits.RequestHeadersTimeoutSeconds);
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(limits.KeepAliveTimeoutSeconds);
            kestrel.Limits.MaxConcurrentConnections = limits.MaxConcurrentConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = limits.MaxConcurrentConnections;
            kestrel.Limits.MinRequestBodyDataRate = new(limits.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(5));

            // Silent sockets and connections per client are bounded before HTTP: one guard for every endpoint.
            var guard = new ConnectionGuard(
                limits, forwarding, kestrel.ApplicationServices.GetRequiredService<TimeProvider>(),
                kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Facilitator.Fast.Edge"));
            kestrel.ConfigureEndpointDefaults(listen => listen.Use(guard.Wrap));
        });
        builder.Services.AddCors();
        // Opt-in, with the runtime's own switch for inline socket completions (read by the runtime before any socket
        // exists): Kestrel then runs requests on the socket threads too, rather than half of the I/O inline and half not
        // (README, "Inline I/O").
        builder.Services.Configure<SocketTransportOptions>(transport => transport.UnsafePreferInlineScheduling = InlineSocketCompletions);

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(routing);
        var redis = services.AddFacilitatorState(builder.Configuration, [.. routing.Upstreams.Select(static u => u.Id)], settlement.MaxMemoryBytes);

        // Analytics of every settlement. Here, before the settlement drain: its writer stops after the drain.
        services.AddSettlementAnalytics(payments);

        services.AddSingleton(_ => new OperationLog(routing.Aggregator.OperationLogCapacity));
        services.AddSingleton(sp => new RoutingTable(
            routing, sp.GetRequiredService<IUpstreamHealthStore>(), sp.GetRequiredService<ILogger<RoutingTable>>(), time: sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<FailoverRouter>();
        services.AddSingleton(settlement);
        services.AddSingleton<SettlementOutcomeRetries>();
        services.AddSingleton(sp => new SettlementLedger(
            sp.GetRequiredService<ISettlementStore>(),
            redis.IsConfigured && redis.LocalSettlementFallback ? sp.GetRequiredService<InMemorySettlementStore>() : null,
            settlement,
            sp.GetRequiredService<SettlementOutcomeRetries>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SettlementLedger>>()));
        services.AddSingleton<SettlementDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<SettlementDrain>());
        services.AddSingleton<PendingReconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingReconciler>());
        services.AddSingleton<SettlementCoordinator>();
        services.AddSingleton<PaymentIdentifierBindings>();

        // The /v1 payment lifecycle: records in Redis when state is shared, else in memory (bounded, lost on restart).
        services.AddSingleton(payments);
        services.AddSingleton<IPaymentStore>(sp => redis.IsConfigured
            ? new RedisPaymentStore(sp.GetRequiredService<RedisConnection>(), payments.Retention, sp.GetRequiredService<TimeProvider>())
            : new InMemoryPaymentStore(sp.GetRequiredService<TimeProvider>(), payments.Options.MaxMemoryBytes, payments.Retention));
        services.AddSingleton<PaymentService>();
        services.AddSingleton<PaymentSettler>();
        services.AddHostedService<PaymentSweeper>();
        services.AddEventStream(builder.Configuration, edge.Cors.AllowedOrigins);
        services.AddSingleton<IStatsEventSource, StatsEventSource>();

        // Stopping waits for settles in flight: the host must allow it longer than the drain.
        services.PostConfigure<HostOptions>(host =>
        {
            var needed = settlement.Drain + TimeSpan.FromSeconds(5);
            host.ShutdownTimeout = host.ShutdownTimeout > needed ? host.ShutdownTimeout : needed;
        });
        services.AddSingleton<SupportedCatalog>();
        services.AddHostedService<CapabilitySharing>();
        services.AddSingleton(localVerification);
        services.AddSingleton(sp => new RequestAuthenticator(auth, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new AuthenticationGate(sp.GetRequiredService<RequestAuthenticator>(), sp.GetRequiredService<RateLimiter>(), auth));
        services.AddSingleton(sp => new RateLimiter(rateLimit, sp.GetRequiredService<TimeProvider>(), sp.GetService<RedisConnection>()));
        services.AddSingleton<LocalVerifier>();
        services.AddSingleton<StatusReportBuilder>();
        if (routing.Aggregator.HealthCheck)
        {
            services.AddSingleton(sp => new ActiveHealthMonitor(
                TimeSpan.FromMilliseconds(routing.Aggregator.HealthCheckIntervalMs),
                sp.GetRequiredService<IProbeLock>(),
                () => sp.GetRequiredService<SupportedCatalog>().RefreshAsync(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<ActiveHealthMonitor>>()));
            services.AddHostedService(sp => sp.GetRequiredService<ActiveHealthMonitor>());
        }

        services.AddFacilitatorTelemetry(builder.Configuration);
        services.AddSingleton<EmbeddedPages>();
        services.AddFacilitatorOpenApi(auth.ApiKeyHeader);
        builder.Logging.Configure(static logging => logging.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        overrideServices?.Invoke(services);

        var app = builder.Build();
        app.Use(EdgeHeaders.InvokeAsync);
        if (forwarding.IsEnabled)
        {
            app.Use(forwarding.InvokeAsync);
        }

        app.Use(new UnhandledExceptionShield(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Facilitator.Fast.Edge")).InvokeAsync);
        if (edge.Cors.AllowedOrigins.Count > 0)
        {
            app.UseCors(policy => policy
                .WithOrigins([.. edge.Cors.AllowedOrigins])
                .WithMethods([.. edge.Cors.AllowedMethods])
                .WithHeaders([.. edge.Cors.AllowedHeaders])
                .WithExposedHeaders(
                    EdgeHeaders.RequestId, EdgeHeaders.ResponseTime, X402Endpoints.UpstreamHeader, X402Endpoints.AttemptsHeader,
                    "X-Facilitator-Local-Verdict", "X-Facilitator-Settlement"));
        }

        app.UseEventStream();
        var gate = app.Services.GetRequiredService<AuthenticationGate>();
        app.Use(gate.InvokeAsync);
        var limiter = app.Services.GetRequiredService<RateLimiter>();
        app.Use(limiter.InvokeAsync);

        app.MapX402Endpoints();
        app.MapV1Endpoints();
        app.MapStatusEndpoints();
        app.MapHealthEndpoints();
        app.MapV1AnalyticsEndpoints();
        app.MapEventStream();
        app.MapMetricsEndpoints(builder.Configuration);
        app.MapPageEndpoints(dashboard);
        app.MapFacilitatorOpenApi();

        StartupLog.Routing(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Facilitator.Fast"), routing, redis.IsConfigured);
        return app;
    }
}
