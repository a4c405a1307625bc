using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Facilitator.Fast.Load;

/// <summary>A redis-server of the run's own, on a free loopback port, stopped with the run.</summary>
internal sealed class LocalRedis : IAsyncDisposable
{
    private readonly Process[] _processes;
    private readonly string? _directory;

    private LocalRedis(Process[] processes, int[] ports, string? directory = null)
    {
        _processes = processes;
        Ports = ports;
        _directory = directory;
    }

    public int Port => Ports[0];

    public int[] Ports { get; }

    /// <summary>What <c>Redis:ConnectionString</c> is given: the node, or every node of a cluster as seeds.</summary>
    public string ConnectionString => string.Join(',', Ports.Select(static p => $"127.0.0.1:{p}"));

    public static async Task<LocalRedis> StartAsync()
    {
        var (process, port) = await StartServerAsync();
        return new LocalRedis([process], [port]);
    }

    /// <summary>A Redis Cluster of <paramref name="primaries"/> primaries (no replicas), made with <c>redis-cli --cluster create</c>.</summary>
    public static async Task<LocalRedis> StartClusterAsync(int primaries)
    {
        var directory = Directory.CreateTempSubdirectory("load-redis-cluster-").FullName;
        var started = new List<(Process Process, int Port)>();
        for (var i = 0; i < primaries; i++)
        {
            var dir = Path.Combine(directory, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            started.Add(await StartServerAsync("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--dir", dir));
        }

        var redis = new LocalRedis([.. started.Select(static s => s.Process)], [.. started.Select(static s => s.Port)], directory);
        using var cli = new Process { StartInfo = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, UseShellExecute = false } };
        foreach (var argument in (string[])["--cluster", "create", .. redis.Ports.Select(static p => $"127.0.0.1:{p}"), "--cluster-yes"])
        {
            cli.StartInfo.ArgumentList.Add(argument);
        }

        cli.Start();
        await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync();
        for (var i = 0; i < 200; i++)
        {
            var info = Process.Start(new ProcessStartInfo("redis-cli") { ArgumentList = { "-p", redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "cluster", "info" }, RedirectStandardOutput = true, UseShellExecute = false })!;
            var text = await info.StandardOutput.ReadToEndAsync();
            await info.WaitForExitAsync();
            if (text.Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                return redis;
            }

            await Task.Delay(100);
        }

        await redis.DisposeAsync();
        throw new InvalidOperationException("The Redis Cluster did not become ok.");
    }

    private static async Task<(Process Process, int Port)> StartServerAsync(params string[] arguments)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start (Debian package redis-server).");
        process.BeginOutputReadLine();
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return (process, port);
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        process.Kill();
        throw new InvalidOperationException("redis-server did not listen.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
        }

        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
