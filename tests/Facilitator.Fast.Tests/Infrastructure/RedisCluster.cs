using System.Globalization;
using System.Text.RegularExpressions;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster on loopback: <c>redis-server --cluster-enabled yes</c> nodes joined by
/// <c>redis-cli --cluster create</c> (three primaries, each with a replica unless told otherwise). Gateways sharing it
/// each take a key prefix of their own, so one cluster serves a whole test class. It can move a slot between primaries
/// while keys are in use, and fail a primary over to its replica without the primary's consent.
/// </summary>
internal sealed partial class RedisCluster : IAsyncDisposable
{
    private readonly List<RedisServer> _nodes;
    private readonly string _directory;

    private RedisCluster(List<RedisServer> nodes, string directory)
    {
        _nodes = nodes;
        _directory = directory;
    }

    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>The seed list a gateway is given: every node, as <c>host:port,host:port,...</c>.</summary>
    public string ConnectionString => string.Join(',', _nodes.Select(static n => n.ConnectionString));

    public static async Task<RedisCluster> StartAsync(int primaries = 3, int replicasPerPrimary = 1)
    {
        var directory = Directory.CreateTempSubdirectory("redis-cluster-").FullName;
        var nodes = new List<RedisServer>();
        var cluster = new RedisCluster(nodes, directory);
        try
        {
            for (var i = 0; i < primaries * (1 + replicasPerPrimary); i++)
            {
                var dir = Path.Combine(directory, i.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(dir);
                nodes.Add(await RedisServer.StartAsync(
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--dir", dir,
                    "--cluster-node-timeout", "2000", "--cluster-replica-validity-factor", "0"));
            }

            List<string> create = ["--cluster", "create", .. nodes.Select(static n => n.ConnectionString),
                "--cluster-replicas", replicasPerPrimary.ToString(CultureInfo.InvariantCulture), "--cluster-yes"];
            var run = await ProcessRunner.RunAsync("redis-cli", create, "/", null, TimeSpan.FromSeconds(60));
            Assert.True(run.ExitCode == 0, $"redis-cli --cluster create failed: {run.StandardOutput} {run.StandardError}");
            await cluster.WaitUntilSettledAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Gateway settings for these upstreams sharing state through the cluster, under a key prefix of their own.</summary>
    public Dictionary<string, string?> GatewaySettings(params (string Id, string Url)[] upstreams)
    {
        var settings = GatewayHost.Upstreams(upstreams);
        settings["Redis:ConnectionString"] = ConnectionString;
        settings["Redis:KeyPrefix"] = $"test-{Guid.NewGuid():N}:";
        return settings;
    }

    /// <summary>Waits until every running node says the cluster is ok and sees the same slot owners.</summary>
    public Task WaitUntilSettledAsync() => Eventually.TrueAsync(
        async () =>
        {
            string? slots = null;
            foreach (var node in Running())
            {
                if (!(await node.CommandAsync("CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return false;
                }

                // A replica still loading its primary's data would not yet acknowledge writes (WAIT).
                var replication = await node.CommandAsync("INFO", "replication");
                if (replication.Contains("role:slave", StringComparison.Ordinal) && !replication.Contains("master_link_status:up", StringComparison.Ordinal))
                {
                    return false;
                }

                var owners = string.Join(';', (await NodesOfAsync(node)).Where(static n => n.IsPrimary && !n.Failed).Select(static n => $"{n.Port}={n.Slots}").Order());
                if (slots is not null && slots != owners)
                {
                    return false;
                }

                slots = owners;
            }

            return true;
        },
        "the Redis Cluster is ok on every node",
        30_000);

    /// <summary>The slot of <paramref name="key"/>, as the cluster computes it.</summary>
    public async Task<int> SlotOfAsync(string key) =>
        int.Parse((await Running().First().CommandAsync("CLUSTER", "KEYSLOT", key)).TrimStart(':').Trim(), CultureInfo.InvariantCulture);

    /// <summary>The primary that serves <paramref name="slot"/> now.</summary>
    public async Task<RedisServer> PrimaryOfAsync(int slot)
    {
        foreach (var node in await NodesOfAsync(Running().First()))
        {
            if (node.IsPrimary && !node.Failed && node.Ranges.Any(r => r.From <= slot && slot <= r.To))
            {
                return _nodes.Single(n => n.Port == node.Port);
            }
        }

        throw new InvalidOperationException($"No primary serves slot {slot}.");
    }

    /// <summary>The primaries serving slots now.</summary>
    public async Task<List<RedisServer>> PrimariesAsync()
    {
        var nodes = await NodesOfAsync(Running().First());
        return [.. _nodes.Where(n => n.IsRunning && nodes.Any(c => c.Port == n.Port && c.IsPrimary && !c.Failed && c.Ranges.Count > 0))];
    }

    /// <summary>Keys matching <paramref name="pattern"/> on every primary.</summary>
    public async Task<List<string>> KeysAsync(string pattern)
    {
        var keys = new List<string>();
        foreach (var primary in await PrimariesAsync())
        {
            keys.AddRange(BulkStrings(await primary.CommandAsync("KEYS", pattern)));
        }

        return keys;
    }

    /// <summary>Keys matching <paramref name="pattern"/> on <paramref name="node"/>.</summary>
    public static async Task<List<string>> KeysOnAsync(RedisServer node, string pattern) => BulkStrings(await node.CommandAsync("KEYS", pattern));

    /// <summary>The replica of <paramref name="primary"/>.</summary>
    public async Task<RedisServer> ReplicaOfAsync(RedisServer primary)
    {
        var nodes = await NodesOfAsync(primary);
        var id = nodes.Single(n => n.Port == primary.Port).Id;
        var replica = nodes.First(n => n.PrimaryId == id && !n.Failed);
        return _nodes.Single(n => n.Port == replica.Port);
    }

    /// <summary>
    /// Moves <paramref name="slot"/> to <paramref name="target"/> as <c>redis-cli --cluster reshard</c> does — importing and
    /// migrating marks, then keys in batches with <c>MIGRATE</c>, then the new owner — with <paramref name="between"/>
    /// called after the marks are set and after each batch, so a test can use the slot while it moves.
    /// </summary>
    public async Task MoveSlotAsync(int slot, RedisServer target, Func<Task>? between = null)
    {
        var source = await PrimaryOfAsync(slot);
        if (source == target)
        {
            return;
        }

        var s = slot.ToString(CultureInfo.InvariantCulture);
        var targetId = await IdOfAsync(target);
        var sourceId = await IdOfAsync(source);
        Expect(await target.CommandAsync("CLUSTER", "SETSLOT", s, "IMPORTING", sourceId), "+OK");
        Expect(await source.CommandAsync("CLUSTER", "SETSLOT", s, "MIGRATING", targetId), "+OK");
        if (between is not null)
        {
            await between();
        }

        while (true)
        {
            var keys = BulkStrings(await source.CommandAsync("CLUSTER", "GETKEYSINSLOT", s, "5"));
            if (keys.Count == 0)
            {
                break;
            }

            Expect(await source.CommandAsync(["MIGRATE", "127.0.0.1", target.Port.ToString(CultureInfo.InvariantCulture), "", "0", "5000", "KEYS", .. keys]), "+OK");
            if (between is not null)
            {
                await between();
            }
        }

        // The target first: a source that already redirects to a target still importing would send clients back and forth.
        Expect(await target.CommandAsync("CLUSTER", "SETSLOT", s, "NODE", targetId), "+OK");
        Expect(await source.CommandAsync("CLUSTER", "SETSLOT", s, "NODE", targetId), "+OK");

        foreach (var node in Running().Where(n => n != source && n != target))
        {
            await node.CommandAsync("CLUSTER", "SETSLOT", s, "NODE", targetId);
        }

        await WaitUntilSettledAsync();
    }

    /// <summary>
    /// Promotes the replica of <paramref name="primary"/> without the primary's agreement (<c>CLUSTER FAILOVER TAKEOVER</c>),
    /// as after the primary's loss: whatever the replica had not received is gone.
    /// </summary>
    public async Task TakeOverAsync(RedisServer replica)
    {
        Expect(await replica.CommandAsync("CLUSTER", "FAILOVER", "TAKEOVER"), "+OK");
        await Eventually.TrueAsync(async () => (await replica.CommandAsync("ROLE")).Contains("master", StringComparison.Ordinal), "the replica is a primary", 30_000);
    }

    private IEnumerable<RedisServer> Running() => _nodes.Where(static n => n.IsRunning);

    private static async Task<string> IdOfAsync(RedisServer node) => (await node.CommandAsync("CLUSTER", "MYID")).Split("\r\n")[1];

    private static async Task<List<ClusterNode>> NodesOfAsync(RedisServer node)
    {
        var text = await node.CommandAsync("CLUSTER", "NODES");
        var nodes = new List<ClusterNode>();
        foreach (var line in text.Split('\n').Skip(1))
        {
            var parts = line.Trim().Split(' ');
            if (parts.Length < 8)
            {
                continue;
            }

            var port = int.Parse(PortPattern().Match(parts[1]).Groups[1].Value, CultureInfo.InvariantCulture);
            var ranges = parts.Skip(8).Where(static p => !p.StartsWith('[')).Select(static p =>
            {
                var bounds = p.Split('-');
                var from = int.Parse(bounds[0], CultureInfo.InvariantCulture);
                return (From: from, To: bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : from);
            }).ToList();
            nodes.Add(new ClusterNode(parts[0], port, parts[2].Contains("master", StringComparison.Ordinal), parts[2].Contains("fail", StringComparison.Ordinal),
                parts[3] == "-" ? null : parts[3], ranges, string.Join(' ', parts.Skip(8))));
        }

        return nodes;
    }

    private static List<string> BulkStrings(string resp) =>
        [.. resp.Split("\r\n").Skip(1).Where(static line => !line.StartsWith('$') && line.Length > 0)];

    private static void Expect(string reply, string expected) =>
        Assert.True(reply.StartsWith(expected, StringComparison.Ordinal), $"Redis answered {reply.Trim()} instead of {expected}.");

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@":(\d+)@")]
    private static partial Regex PortPattern();

    private sealed record ClusterNode(string Id, int Port, bool IsPrimary, bool Failed, string? PrimaryId, List<(int From, int To)> Ranges, string Slots);
}
