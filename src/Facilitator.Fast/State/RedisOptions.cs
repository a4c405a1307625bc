namespace Facilitator.Fast.State;

/// <summary>Section <c>Redis</c> (or <c>REDIS_URL</c>): shared state for several instances. Unset means in-memory state.</summary>
public sealed class RedisOptions
{
    public const string SectionName = "Redis";

    /// <summary>A StackExchange.Redis configuration string (<c>host:port,password=...</c>) or a <c>redis://</c> / <c>rediss://</c> URL.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Prefix of every key and channel, so several deployments can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "facilitator:";

    /// <summary>
    /// When Redis cannot be reached, settle with the local ledger (exactly once per instance only) instead of refusing
    /// the settle with 503. Off by default: a repeat on another instance could otherwise reach a second upstream.
    /// </summary>
    public bool LocalSettlementFallback { get; set; }

    /// <summary>
    /// Replicas of a key's primary that must hold each settlement ledger write before the settlement goes on (Redis
    /// <c>WAIT</c>), so a failover cannot lose a claim; at most as many as the primary has, none for a primary without
    /// replicas. 0 never waits (a failover may then lose writes of the last moments; see README, Redis Cluster).
    /// </summary>
    public int SettlementReplicas { get; set; } = 1;

    /// <summary>How long a settlement ledger write waits for its replicas before the settle is refused with 503.</summary>
    public int SettlementReplicaTimeoutMs { get; set; } = 250;

    /// <summary>
    /// Relays events between instances with sharded pub/sub (<c>SPUBLISH</c>/<c>SSUBSCRIBE</c>, Redis 7+): on a cluster each
    /// event then reaches only the primary that owns the channel's slot instead of every node. Every instance sharing the
    /// Redis must agree.
    /// </summary>
    public bool ShardedPubSub { get; set; }

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString);

    /// <summary>Where <see cref="ConnectionString"/> came from (<c>Redis:ConnectionString</c> or <c>REDIS_URL</c>), for error messages.</summary>
    internal string Setting { get; set; } = "Redis:ConnectionString";
}
