using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Reads a request body into a pooled buffer and stops at a size limit, so an oversized body costs at most the
/// limit in memory and gets a clear 413 instead of a Kestrel error page.
/// </summary>
public static class RequestBodyReader
{
    /// <summary>Reads the whole body into <paramref name="buffer"/>; false when it is larger than <paramref name="limit"/>.</summary>
    public static async ValueTask<bool> TryReadAsync(HttpRequest request, PooledBytes buffer, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return false;
        }

        while (true)
        {
            var read = await request.Body.ReadAsync(buffer.GetWritableMemory(4096), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return true;
            }

            buffer.Advance(read);
            if (buffer.Length > limit)
            {
                return false;
            }
        }
    }
}
