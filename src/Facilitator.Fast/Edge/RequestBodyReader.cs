using Facilitator.Fast.Protocol;
using Microsoft.AspNetCore.Connections;

namespace Facilitator.Fast.Edge;

/// <summary>How reading a request body ended.</summary>
public enum BodyReadOutcome : byte
{
    Complete = 0,

    /// <summary>The body is larger than the limit (declared or streamed); answer 413.</summary>
    TooLarge,

    /// <summary>The body is not valid HTTP (a broken chunked encoding, a client too slow to send it); answer 400.</summary>
    Malformed,
}

/// <summary>
/// Reads a request body into a pooled buffer and stops at a size limit, so an oversized body costs at most the
/// limit in memory and gets a clear 413 instead of a Kestrel error page. A body Kestrel cannot decode is malformed
/// (400), whichever exception Kestrel reports it with: a chunk size that overflows, for one, comes as an
/// <see cref="IOException"/> rather than a <see cref="BadHttpRequestException"/>.
/// </summary>
public static partial class RequestBodyReader
{
    /// <summary>A buffer sized for the declared body (plus the byte that shows its end), or 4 KiB when undeclared.</summary>
    public static PooledBytes RentFor(HttpRequest request, int limit) =>
        new((int)Math.Min(request.ContentLength ?? 4095, limit) + 1);

    /// <summary>Reads the whole body into <paramref name="buffer"/>, stopping once it exceeds <paramref name="limit"/>.</summary>
    public static async ValueTask<BodyReadOutcome> ReadAsync(HttpRequest request, PooledBytes buffer, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return BodyReadOutcome.TooLarge;
        }

        try
        {
            while (true)
            {
                var read = await request.Body.ReadAsync(buffer.GetReadMemory(), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return BodyReadOutcome.Complete;
                }

                buffer.Advance(read);
                if (buffer.Length > limit)
                {
                    return BodyReadOutcome.TooLarge;
                }
            }
        }
        catch (BadHttpRequestException ex)
        {
            return ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? BodyReadOutcome.TooLarge : BodyReadOutcome.Malformed;
        }
        catch (IOException ex) when (ex is not ConnectionResetException && !cancellationToken.IsCancellationRequested)
        {
            // The caller's fault, not the gateway's: one line, without a stack trace.
            var logger = request.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Facilitator.Fast.Edge");
            Unreadable(logger, request.Method, request.Path.Value ?? "", ex.Message);
            return BodyReadOutcome.Malformed;
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "The body of {Method} {Path} is not valid HTTP ({Problem}); answered 400")]
    private static partial void Unreadable(ILogger logger, string method, string path, string problem);
}
