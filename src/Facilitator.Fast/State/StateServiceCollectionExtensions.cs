namespace Facilitator.Fast.State;

/// <summary>Registers the state stores: in memory by default, shared through Redis when <c>Redis:ConnectionString</c> or <c>REDIS_URL</c> is set.</summary>
public static class StateServiceCollectionExtensions
{
    /// <param name="settlementMemoryBytes">The in-memory settlement store's bound (<c>Settlement:MaxMemoryBytes</c>).</param>
    public static RedisOptions AddFacilitatorState(
        this IServiceCollection services, IConfiguration configuration, IReadOnlyList<string> upstreamIds, long settlementMemoryBytes)
    {
        var options = new RedisOptions();
        try
        {
            configuration.GetSection(RedisOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidSettingException("configuration", ex.Message.ReplaceLineEndings(" "));
        }

        if (!options.IsConfigured && configuration["REDIS_URL"] is { Length: > 0 } url)
        {
            options.ConnectionString = url;
            options.Setting = "REDIS_URL";
        }

        if (options.IsConfigured)
        {
            // A malformed string must stop the start here, with one line, not when the connection is first used.
            _ = RedisConnection.ParseConfiguration(options.ConnectionString!, options.Setting);
            if (options.SettlementReplicas is < 0 or > 16)
            {
                throw new InvalidSettingException("Redis:SettlementReplicas", "must be between 0 (never wait) and 16.");
            }

            // Below the connection's 2 s command timeout, so a WAIT that runs out answers rather than times out.
            if (options.SettlementReplicaTimeoutMs is < 1 or > 1500)
            {
                throw new InvalidSettingException("Redis:SettlementReplicaTimeoutMs", "must be between 1 and 1500 (milliseconds).");
            }
        }

        services.AddSingleton(options);
        services.AddSingleton(_ => new InMemoryUpstreamHealthStore(upstreamIds));
        services.AddSingleton<SettlementWaiters>();
        services.AddSingleton(sp => new InMemorySettlementStore(
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<SettlementWaiters>(), settlementMemoryBytes));
        if (!options.IsConfigured)
        {
            services.AddSingleton<IUpstreamHealthStore>(sp => sp.GetRequiredService<InMemoryUpstreamHealthStore>());
            services.AddSingleton<ISettlementStore>(sp => sp.GetRequiredService<InMemorySettlementStore>());
            services.AddSingleton<IPaymentIdentifierStore>(sp => new InMemoryPaymentIdentifierStore(
                sp.GetRequiredService<TimeProvider>(), Math.Max(settlementMemoryBytes / 4, 1024 * 1024)));
            services.AddSingleton<IProbeLock, LocalProbeLock>();
            services.AddSingleton<ICapabilityStore, LocalCapabilityStore>();
            services.AddSingleton<IAnalyticsStore>(static _ => new InMemoryAnalyticsStore());
            return options;
        }

        services.AddSingleton(sp => RedisConnection.Connect(
            options, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Facilitator.Fast.State"), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new SharedUpstreamHealthStore(
            sp.GetRequiredService<InMemoryUpstreamHealthStore>(),
            sp.GetRequiredService<RedisConnection>(),
            upstreamIds,
            sp.GetRequiredService<ILogger<SharedUpstreamHealthStore>>()));
        services.AddSingleton<IUpstreamHealthStore>(sp => sp.GetRequiredService<SharedUpstreamHealthStore>());
        services.AddSingleton<RedisSettlementStore>();
        services.AddSingleton<ISettlementStore>(sp => sp.GetRequiredService<RedisSettlementStore>());
        services.AddSingleton<IPaymentIdentifierStore>(sp => new RedisPaymentIdentifierStore(sp.GetRequiredService<RedisConnection>()));
        services.AddSingleton<IProbeLock>(sp => new RedisProbeLock(sp.GetRequiredService<RedisConnection>()));
        services.AddSingleton<ICapabilityStore>(sp => new RedisCapabilityStore(
            sp.GetRequiredService<RedisConnection>(), upstreamIds, sp.GetRequiredService<ILogger<RedisCapabilityStore>>()));
        services.AddSingleton<IAnalyticsStore>(static sp => new RedisAnalyticsStore(sp.GetRequiredService<RedisConnection>()));
        services.AddHostedService<SharedStateService>();
        return options;
    }
}

/// <summary>
/// Starts sharing state at start (health: subscribe and read; settlements: subscribe to changes), checks that Redis will
/// not evict settlement records, and closes the Redis connection at stop.
/// </summary>
internal sealed class SharedStateService(
    SharedUpstreamHealthStore health, RedisSettlementStore settlements, RedisConnection redis, ILogger<SharedStateService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await health.StartAsync().ConfigureAwait(false);
        await settlements.StartAsync().ConfigureAwait(false);
        await redis.CheckDurabilityAsync(logger).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await redis.DisposeAsync().ConfigureAwait(false);
}
