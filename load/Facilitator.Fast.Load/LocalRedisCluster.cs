using System.Diagnostics;
using System.Globalization;

namespace Facilitator.Fast.Load;

/// <summary>
/// A Redis Cluster of the run's own: primaries (no replicas) on free loopback ports, joined with
/// <c>redis-cli --cluster create</c>, stopped and removed with the run.
/// </summary>
internal sealed class LocalRedisCluster : IAsyncDisposable
{
    private readonly List<Process> _processes = [];
    private readonly List<int> _ports = [];
    private readonly string _directory = Directory.CreateTempSubdirectory("load-redis-cluster-").FullName;

    private LocalRedisCluster()
    {
    }

    /// <summary>What <c>Redis:ConnectionString</c> is given: every node, as seeds.</summary>
    public string ConnectionString => string.Join(',', _ports.Select(static p => $"127.0.0.1:{p}"));

    public static async Task<LocalRedisCluster> StartAsync(int primaries)
    {
        var cluster = new LocalRedisCluster();
        try
        {
            for (var i = 0; i < primaries; i++)
            {
                var directory = Path.Combine(cluster._directory, i.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(directory);
                var port = LocalRedis.FreePort();
                cluster._processes.Add(await LocalRedis.LaunchAsync(port, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--dir", directory));
                cluster._ports.Add(port);
            }

            await RedisCliAsync(["--cluster", "create", .. cluster._ports.Select(static p => $"127.0.0.1:{p}"), "--cluster-yes"]);
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                if ((await RedisCliAsync(["-p", cluster._ports[0].ToString(CultureInfo.InvariantCulture), "cluster", "info"])).Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    return cluster;
                }

                await Task.Delay(100);
            }

            throw new InvalidOperationException("The Redis Cluster did not become ok.");
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static async Task<string> RedisCliAsync(string[] arguments)
    {
        var start = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var cli = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start (Debian package redis-tools).");
        var output = await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync();
        return output;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
            ChildProcesses.Forget(process);
            process.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }
}
