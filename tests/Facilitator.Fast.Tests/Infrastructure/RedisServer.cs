using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, started for a test and stopped with it; it can be stopped and
/// started again on the same port to test outages. Under CI a missing redis-server fails the test.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly int _port;
    private readonly string[] _arguments;
    private Process? _process;

    private RedisServer(int port, string[] arguments)
    {
        _port = port;
        _arguments = arguments;
    }

    public string ConnectionString => $"127.0.0.1:{_port}";

    public int Port => _port;

    public bool IsRunning => _process is { HasExited: false };

    /// <param name="arguments">More <c>redis-server</c> options, e.g. <c>--maxmemory-policy allkeys-lru</c>.</param>
    public static async Task<RedisServer> StartAsync(params string[] arguments)
    {
        var binary = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
        RepositoryPaths.Require(binary is not null, "redis-server (Debian package redis-server)");
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var server = new RedisServer(port, arguments);
        await server.StartAgainAsync();
        return server;
    }

    public async Task StartAgainAsync()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", _port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in _arguments)
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.TrueAsync(PingsAsync, "redis-server answers PING");
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Freezes the server (SIGSTOP): connections stay open and nothing is answered, as with a hung Redis.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>Lets a paused server run again (SIGCONT); it answers what was sent meanwhile.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        var run = await ProcessRunner.RunAsync("kill", [signal, _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], "/", null, TimeSpan.FromSeconds(10));
        Assert.Equal(0, run.ExitCode);
    }

    /// <summary>Gateway settings for these upstreams sharing state through this server, under a key prefix of their own.</summary>
    public Dictionary<string, string?> GatewaySettings(params (string Id, string Url)[] upstreams)
    {
        var settings = GatewayHost.Upstreams(upstreams);
        settings["Redis:ConnectionString"] = ConnectionString;
        settings["Redis:KeyPrefix"] = $"test-{Guid.NewGuid():N}:";
        return settings;
    }

    /// <summary>Sends one command on a connection of its own and returns the reply as RESP text (e.g. <c>+OK</c>).</summary>
    public async Task<string> CommandAsync(params string[] arguments)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _port);
        var stream = client.GetStream();
        var command = new StringBuilder().Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            command.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(command.ToString()));
        var buffer = new byte[64 * 1024];
        var read = await stream.ReadAsync(buffer);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    private async Task<bool> PingsAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, _port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // SIGKILL ends a paused server too.
        await StopAsync();
        _process?.Dispose();
    }
}
