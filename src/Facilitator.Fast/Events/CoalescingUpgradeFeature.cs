using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Facilitator.Fast.Events;

/// <summary>
/// Stands in for the request's upgrade feature on the event stream's path, before the WebSocket middleware takes it, so
/// the WebSocket it accepts runs over a <see cref="CoalescingStream"/> the send loop can batch writes on. An HTTP/2
/// WebSocket (extended CONNECT) does not upgrade and keeps its own stream, unbatched.
/// </summary>
/// <param name="socket">The connection's socket, when writes may move to it (plain HTTP/1.1; see <see cref="CoalescingStream"/>).</param>
internal sealed class CoalescingUpgradeFeature(IHttpUpgradeFeature inner, System.Net.Sockets.Socket? socket) : IHttpUpgradeFeature
{
    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    /// <summary>The stream once upgraded.</summary>
    public CoalescingStream? Stream { get; private set; }

    public async Task<Stream> UpgradeAsync()
    {
        var stream = new CoalescingStream(await inner.UpgradeAsync().ConfigureAwait(false), socket);
        Stream = stream;
        return stream;
    }

    /// <summary>The middleware: put in place on <paramref name="path"/>, ahead of <c>UseWebSockets</c>.</summary>
    /// <param name="directWrites">Whether writes may move to the socket itself (<c>Events:DirectWrites</c>; never over TLS).</param>
    public static Func<HttpContext, RequestDelegate, Task> For(PathString path, bool directWrites) => (context, next) =>
    {
        if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade
            && EventStreamCredentials.IsStreamPath(context.Request.Path, path))
        {
            var socket = directWrites && !context.Request.IsHttps ? context.Features.Get<IConnectionSocketFeature>()?.Socket : null;
            context.Features.Set<IHttpUpgradeFeature>(new CoalescingUpgradeFeature(upgrade, socket));
        }

        return next(context);
    };
}
