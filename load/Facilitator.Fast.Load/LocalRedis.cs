using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Facilitator.Fast.Load;

/// <summary>
/// A redis-server of the run's own, on a free loopback port, stopped with the run; it can be paused (SIGSTOP), resumed,
/// stopped and started again on the same port, and keep an append-only file so a restart loses nothing.
/// </summary>
internal sealed class LocalRedis : IAsyncDisposable
{
    private readonly string? _directory;
    private Process _process;

    private LocalRedis(Process process, int port, string? directory)
    {
        _process = process;
        Port = port;
        _directory = directory;
    }

    public int Port { get; }

    public int ProcessId => _process.Id;

    /// <summary>What <c>Redis:ConnectionString</c> is given.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <param name="appendOnlyDirectory">
    /// Where to keep an append-only file (<c>appendonly yes</c>, <c>appendfsync everysec</c>, as the README recommends),
    /// so a restart keeps every key; none: nothing persisted.
    /// </param>
    public static async Task<LocalRedis> StartAsync(string? appendOnlyDirectory = null)
    {
        var port = FreePort();
        return new LocalRedis(await LaunchAsync(port, appendOnlyDirectory), port, appendOnlyDirectory);
    }

    /// <summary>Freezes the server (SIGSTOP): connections stay open and nothing is answered.</summary>
    public void Pause() => Signal("-STOP");

    /// <summary>Lets a paused server run again (SIGCONT); it answers what was sent meanwhile.</summary>
    public void Resume() => Signal("-CONT");

    /// <summary>Stops the server as an operator does (SIGTERM: it writes its append-only file and exits).</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            Signal("-TERM");
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the server again on the same port (and the same append-only file).</summary>
    public async Task StartAgainAsync()
    {
        ChildProcesses.Forget(_process);
        _process.Dispose();
        _process = await LaunchAsync(Port, _directory);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts a redis-server on <paramref name="port"/> with <paramref name="arguments"/> besides the port and bind address.</summary>
    internal static Task<Process> LaunchAsync(int port, params string[] arguments) => LaunchAsync(port, null, arguments);

    private static async Task<Process> LaunchAsync(int port, string? directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "" },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (directory is null)
        {
            start.ArgumentList.Add("--appendonly");
            start.ArgumentList.Add("no");
        }
        else
        {
            Directory.CreateDirectory(directory);
            foreach (var argument in new[] { "--appendonly", "yes", "--appendfsync", "everysec", "--dir", Path.GetFullPath(directory) })
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (Debian package redis-server).");
        ChildProcesses.Track(process);
        process.BeginOutputReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return process;
            }
            catch (SocketException)
            {
                await Task.Delay(20);
            }
        }

        process.Kill();
        throw new InvalidOperationException("redis-server did not listen.");
    }

    private void Signal(string signal)
    {
        if (_process.HasExited)
        {
            return;
        }

        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { signal, _process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill {signal} {_process.Id} failed.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        // SIGKILL ends a paused server too.
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        ChildProcesses.Forget(_process);
        _process.Dispose();
    }
}
