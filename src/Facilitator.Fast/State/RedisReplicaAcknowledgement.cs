using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// Makes a settlement ledger write survive its primary's failover: after the write, <c>WAIT</c> on the same connection
/// until <c>Redis:SettlementReplicas</c> replicas of the key's primary (at most as many as it has) hold it. Redis
/// replicates asynchronously, so without this a claim that a primary acknowledged and then lost in a failover lets a
/// repeat settle the authorization a second time.
/// </summary>
/// <remarks>
/// How many replicas each primary has comes from <see cref="RedisReplicaTopology"/>, read at start and when the
/// topology changes, never on a settle: a primary without replicas cannot fail over, so its writes are not waited for.
/// <c>WAIT</c> blocks the connection it runs on, which is why the ledger writes on a connection of its own
/// (<see cref="RedisConnection.LedgerDatabase"/>).
/// </remarks>
public sealed class RedisReplicaAcknowledgement(Func<IConnectionMultiplexer> multiplexer, RedisReplicaTopology topology, int required, TimeSpan timeout)
{
    private long _waits;
    private long _shortfalls;

    /// <summary>The replica counts waited by.</summary>
    public RedisReplicaTopology Topology => topology;

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
        var wanted = Math.Min(required, await topology.ReplicasOfAsync(server.EndPoint).ConfigureAwait(false) ?? required);
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
        topology.Refresh();
        return false;
    }
}
