using System.Net;
using System.Net.Sockets;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>Loopback ports for processes a test starts itself.</summary>
internal static class LoopbackPorts
{
    /// <summary>A port free on 127.0.0.1 now (the system picked it for a listener that is closed again).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
