using System.Collections.Concurrent;
using System.Net;
using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// Makes a settlement ledger write survive its primary's failover: after the write, <c>WAIT</c> on the same connection
/// until <c>Redis:SettlementReplicas</c> replicas of the key's primary (at most as many as it has) hold it. Redis
/// replicates asynchronously, so without this a claim that a primary acknowledged and then lost in a failover lets a
/// repeat settle the authorization a second time.
/// </summary>
/// <remarks>
/// How many replicas a primary has is read with <c>ROLE</c> and kept for a few seconds (read again after a shortfall):
/// a primary without replicas cannot fail over, so its writes are not waited for. <c>WAIT</c> blocks the connection it
/// runs on, which is why the ledger has a connection of its own (<see cref="RedisConnection.LedgerDatabase"/>).
/// </remarks>
public sealed class RedisReplicaAcknowledgement(Func<IConnectionMultiplexer> multiplexer, int required, TimeSpan timeout, TimeProvider time)
{
    private static readonly TimeSpan RoleKeptFor = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<EndPoint, (int Replicas, long ReadAt)> _replicas = new();
    private long _waits;
    private long _shortfalls;

    /// <summary><c>WAIT</c>s sent.</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Writes that fewer replicas acknowledged than were waited for.</summary>
    public long Shortfalls => Interlocked.Read(ref _shortfalls);

    /// <summary>
    /// Whether the write just made to <paramref name="key"/> is held by the replicas waited for (always true when none
    /// are configured or the primary has none). Throws what the connection throws when Redis cannot be reached.
    /// </summary>
    public async ValueTask<bool> AcknowledgedAsync(RedisKey key)
    {
        if (required <= 0)
        {
            return true;
        }

        var server = multiplexer().GetServer(key, null, CommandFlags.DemandMaster);
        var wanted = Math.Min(required, await ReplicasAsync(server).ConfigureAwait(false));
        if (wanted == 0)
        {
            return true;
        }

        Interlocked.Increment(ref _waits);
        var acknowledged = (long)await server.ExecuteAsync("WAIT", [wanted, (long)timeout.TotalMilliseconds]).ConfigureAwait(false);
        if (acknowledged >= wanted)
        {
            return true;
        }

        Interlocked.Increment(ref _shortfalls);
        _replicas.TryRemove(server.EndPoint, out _);
        return false;
    }

    private async ValueTask<int> ReplicasAsync(IServer server)
    {
        var now = time.GetTimestamp();
        if (_replicas.TryGetValue(server.EndPoint, out var known) && time.GetElapsedTime(known.ReadAt, now) < RoleKeptFor)
        {
            return known.Replicas;
        }

        var role = await server.RoleAsync().ConfigureAwait(false);
        var replicas = role is Role.Master primary ? primary.Replicas.Count : 0;
        _replicas[server.EndPoint] = (replicas, now);
        return replicas;
    }
}
