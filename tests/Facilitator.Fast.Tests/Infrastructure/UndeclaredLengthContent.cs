using System.Net;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>A request body sent with chunked transfer encoding: no Content-Length for the server to check up front.</summary>
internal sealed class UndeclaredLengthContent(byte[] bytes) : HttpContent
{
    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
