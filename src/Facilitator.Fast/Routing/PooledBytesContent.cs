using System.Net;
using System.Net.Http.Headers;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// An upstream request's body: the caller's pooled bytes, sent as they are, with a reference held on the buffer for
/// as long as the request may still read it — until the content is disposed and every serialization has ended, which
/// for a cancelled hedge or an HTTP/2 stream can be after the attempt itself has returned.
/// </summary>
internal sealed class PooledBytesContent : HttpContent
{
    private static readonly MediaTypeHeaderValue s_json = new("application/json");

    private readonly PooledBytes _body;

    // One hold for the content itself (dropped on dispose) and one per serialization under way.
    private int _holds = 1;
    private int _disposed;

    public PooledBytesContent(PooledBytes body)
    {
        body.AddReference();
        _body = body;
        Headers.ContentType = s_json;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!TryHold())
        {
            throw new ObjectDisposedException(nameof(PooledBytesContent));
        }

        try
        {
            await stream.WriteAsync(_body.Memory, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Unhold();
        }
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (!TryHold())
        {
            throw new ObjectDisposedException(nameof(PooledBytesContent));
        }

        try
        {
            stream.Write(_body.Span);
        }
        finally
        {
            Unhold();
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _body.Length;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Unhold();
        }

        base.Dispose(disposing);
    }

    private bool TryHold()
    {
        var current = Volatile.Read(ref _holds);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _holds, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    private void Unhold()
    {
        if (Interlocked.Decrement(ref _holds) == 0)
        {
            _body.ReleaseReference();
        }
    }
}
