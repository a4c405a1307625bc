using System.Net.WebSockets;

namespace Facilitator.Fast.Events;

/// <summary>Why a connection is closed, and when that was decided (<see cref="TimeProvider.GetTimestamp"/>).</summary>
internal sealed record CloseRequest(WebSocketCloseStatus Status, string Reason, long At)
{
    /// <summary>1013, "try again later" (RFC 6455 registry), which <see cref="WebSocketCloseStatus"/> does not name.</summary>
    public const WebSocketCloseStatus TryAgainLater = (WebSocketCloseStatus)1013;

    /// <summary>1001, "going away": the server is shutting down.</summary>
    public const WebSocketCloseStatus GoingAway = WebSocketCloseStatus.EndpointUnavailable;
}
