using System.Net;
using System.Net.Sockets;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// A loopback port that refuses connections: a socket bound but never listening, held for the test's lifetime
/// so no other server can take the port meanwhile.
/// </summary>
internal sealed class RefusingEndpoint : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public RefusingEndpoint()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Url = $"http://127.0.0.1:{((IPEndPoint)_socket.LocalEndPoint!).Port}";
    }

    public string Url { get; }

    public void Dispose() => _socket.Dispose();
}
