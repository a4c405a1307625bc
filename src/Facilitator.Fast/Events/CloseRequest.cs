using System.Net.WebSockets;

namespace Facilitator.Fast.Events;

/// <summary>Why a connection is closed, and when that was decided (<see cref="TimeProvider.GetTimestamp"/>).</summary>
/// <param name="Flush">Whether what is already queued is sent before the close frame: yes when the server ends the
/// connection (errors the client should read, a shutdown), no for a client too slow to read it or that closed itself.</param>
internal sealed record CloseRequest(WebSocketCloseStatus Status, string Reason, long At, bool Flush)
{
    /// <summary>1013, "try again later" (RFC 6455 registry), which <see cref="WebSocketCloseStatus"/> does not name.</summary>
    public const WebSocketCloseStatus TryAgainLater = (WebSocketCloseStatus)1013;

    /// <summary>1001, "going away": the server is shutting down.</summary>
    public const WebSocketCloseStatus GoingAway = WebSocketCloseStatus.EndpointUnavailable;
}
