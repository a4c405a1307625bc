namespace Facilitator.Fast.State;

/// <summary>Registers the state stores: in memory by default, shared through Redis when <c>Redis:ConnectionString</c> or <c>REDIS_URL</c> is set.</summary>
public static class StateServiceCollectionExtensions
{
    public static RedisOptions AddFacilitatorState(this IServiceCollection services, IConfiguration configuration, IReadOnlyList<string> upstreamIds)
    {
        var options = new RedisOptions();
        configuration.GetSection(RedisOptions.SectionName).Bind(options);
        if (!options.IsConfigured && configuration["REDIS_URL"] is { Length: > 0 } url)
        {
            options.ConnectionString = url;
        }

        services.AddSingleton(options);
        services.AddSingleton(_ => new InMemoryUpstreamHealthStore(upstreamIds));
        services.AddSingleton(sp => new InMemorySettlementLedger(sp.GetRequiredService<TimeProvider>()));
        if (!options.IsConfigured)
        {
            services.AddSingleton<IUpstreamHealthStore>(sp => sp.GetRequiredService<InMemoryUpstreamHealthStore>());
            services.AddSingleton<ISettlementLedger>(sp => sp.GetRequiredService<InMemorySettlementLedger>());
            services.AddSingleton<IProbeLock, LocalProbeLock>();
            return options;
        }

        services.AddSingleton(sp => RedisConnection.Connect(options, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Facilitator.Fast.State")));
        services.AddSingleton(sp => new SharedUpstreamHealthStore(
            sp.GetRequiredService<InMemoryUpstreamHealthStore>(),
            sp.GetRequiredService<RedisConnection>(),
            upstreamIds,
            sp.GetRequiredService<ILogger<SharedUpstreamHealthStore>>()));
        services.AddSingleton<IUpstreamHealthStore>(sp => sp.GetRequiredService<SharedUpstreamHealthStore>());
        services.AddSingleton<ISettlementLedger>(sp => new RedisSettlementLedger(
            sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<InMemorySettlementLedger>(), sp.GetRequiredService<TimeProvider>(), options.LocalSettlementFallback));
        services.AddSingleton<IProbeLock>(sp => new RedisProbeLock(sp.GetRequiredService<RedisConnection>()));
        services.AddHostedService<SharedStateService>();
        return options;
    }
}

/// <summary>Starts sharing health at start (subscribe, read the shared state) and closes the Redis connection at stop.</summary>
internal sealed class SharedStateService(SharedUpstreamHealthStore health, RedisConnection redis) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => health.StartAsync();

    public async Task StopAsync(CancellationToken cancellationToken) => await redis.DisposeAsync().ConfigureAwait(false);
}
