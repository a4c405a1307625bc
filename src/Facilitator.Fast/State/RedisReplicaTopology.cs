using System.Collections.Concurrent;
using System.Net;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// How many connected replicas each Redis primary has, which the settlement ledger's replica wait needs: read at start,
/// when the connection returns or the cluster's configuration changes, after a replica wait fell short, and every few
/// seconds in the background — never on a settle, so a settle sends no extra command and a Redis user without
/// <c>ROLE</c> still settles.
/// </summary>
/// <remarks>
/// Each primary is asked with <c>ROLE</c>; where the user may not run it, with <c>INFO replication</c> (through a
/// read-only script); on a cluster, what the client read with <c>CLUSTER NODES</c> is the last resort. A primary none of
/// these describes is unknown, and the ledger then waits for every replica it is configured to wait for.
/// </remarks>
public sealed partial class RedisReplicaTopology(Func<IConnectionMultiplexer> multiplexer, TimeProvider time, ILogger logger) : IDisposable
{
    /// <summary>How often the counts are read again in the background (replicas attached or lost without a topology event).</summary>
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(5);

    private const string InfoScript = """
        #!lua flags=no-writes
        return string.match(redis.call('INFO', 'replication'), 'connected_slaves:(%d+)')
        """;

    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<EndPoint, byte> _unknown = new();
    private volatile Dictionary<EndPoint, int> _replicas = [];
    private Task? _refreshing;
    private ITimer? _timer;
    private long _reads;

    /// <summary>Times the counts were read.</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>Reads the counts, then keeps them current: on the connection's and the cluster's events, and every <see cref="RefreshEvery"/>.</summary>
    public async Task StartAsync()
    {
        var connection = multiplexer();
        connection.ConnectionRestored += (_, _) => Refresh();
        connection.ConfigurationChanged += (_, _) => Refresh();
        connection.ConfigurationChangedBroadcast += (_, _) => Refresh();
        _timer = time.CreateTimer(static state => ((RedisReplicaTopology)state!).Refresh(), this, RefreshEvery, RefreshEvery);
        await RefreshAsync().ConfigureAwait(false);
    }

    /// <summary>The replicas <paramref name="primary"/> has, read once more if it is new to this instance; null when unknown.</summary>
    public async ValueTask<int?> ReplicasOfAsync(EndPoint primary)
    {
        if (_replicas.TryGetValue(primary, out var known))
        {
            return known;
        }

        await RefreshAsync().ConfigureAwait(false);
        return _replicas.TryGetValue(primary, out known) ? known : null;
    }

    /// <summary>Reads the counts again in the background.</summary>
    public void Refresh() => _ = RefreshAsync();

    /// <summary>Reads the counts again; one read at a time, which concurrent callers share.</summary>
    public Task RefreshAsync()
    {
        lock (_lock)
        {
            if (_refreshing is { IsCompleted: false } running)
            {
                return running;
            }

            return _refreshing = ReadAllAsync();
        }
    }

    private async Task ReadAllAsync()
    {
        await Task.Yield();
        Interlocked.Increment(ref _reads);
        var next = new Dictionary<EndPoint, int>(_replicas);
        foreach (var server in multiplexer().GetServers())
        {
            if (server.IsReplica || !server.IsConnected)
            {
                continue;
            }

            try
            {
                if (await CountAsync(server).ConfigureAwait(false) is { } count)
                {
                    next[server.EndPoint] = count;
                    _unknown.TryRemove(server.EndPoint, out _);
                }
                else
                {
                    next.Remove(server.EndPoint);
                    if (_unknown.TryAdd(server.EndPoint, 0))
                    {
                        ReplicasUnknown(logger, server.EndPoint.ToString() ?? "?");
                    }
                }
            }
            catch (Exception ex) when (RedisConnection.IsFault(ex))
            {
                // Unreachable for now: what was known stays until it answers again.
            }
        }

        _replicas = next;
    }

    private static async ValueTask<int?> CountAsync(IServer server)
    {
        try
        {
            var role = await server.RoleAsync().ConfigureAwait(false);
            return role is Role.Master primary ? primary.Replicas.Count : 0;
        }
        catch (RedisServerException)
        {
            // NOPERM: the user may not run ROLE.
        }

        try
        {
            var connected = await server.ExecuteAsync("EVAL", [InfoScript, 0]).ConfigureAwait(false);
            if (!connected.IsNull && int.TryParse((string?)connected, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count))
            {
                return count;
            }
        }
        catch (RedisServerException)
        {
            // NOPERM: nor INFO, nor EVAL.
        }

        return server.ClusterConfiguration?[server.EndPoint] is { } node
            ? node.Children.Count(static replica => replica.IsConnected && !replica.IsFail && !replica.IsPossiblyFail)
            : null;
    }

    public void Dispose() => _timer?.Dispose();

    [LoggerMessage(EventId = 4022, Level = LogLevel.Warning, Message = "The replicas of Redis primary {EndPoint} cannot be counted (the Redis user may run neither ROLE nor INFO; see README, Redis Cluster): settlement ledger writes there wait for Redis:SettlementReplicas replicas, and are refused when it has fewer")]
    private static partial void ReplicasUnknown(ILogger logger, string endPoint);
}
