using System.Net;
using System.Net.Sockets;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// A loopback port where connection attempts hang, as behind a firewall that drops packets: a listener with a
/// backlog of one that never accepts, its queue filled by connections of its own, so the kernel ignores new SYNs.
/// </summary>
internal sealed class BlackholeEndpoint : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _fillers = [];

    private BlackholeEndpoint()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1);
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";
    }

    public string Url { get; }

    public static async Task<BlackholeEndpoint> StartAsync()
    {
        var endpoint = new BlackholeEndpoint();
        for (var i = 0; i < 16; i++)
        {
            var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            endpoint._fillers.Add(filler);
            using var attempt = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            try
            {
                await filler.ConnectAsync(endpoint._listener.LocalEndPoint!, attempt.Token);
            }
            catch (OperationCanceledException)
            {
                return endpoint;
            }
        }

        endpoint.Dispose();
        throw new InvalidOperationException("The listen queue never filled; connection attempts would not hang.");
    }

    public void Dispose()
    {
        foreach (var filler in _fillers)
        {
            filler.Dispose();
        }

        _listener.Dispose();
    }
}
