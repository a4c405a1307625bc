using Facilitator.Fast.Edge;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Facilitator.Fast.Api;

/// <summary>
/// The OpenAPI document, made once and served as bytes. Made on every request it cost about 10 MB of allocation and
/// tens of milliseconds of CPU, on a public path: a stranger could load the cores that verify and settle run on.
/// Endpoints and settings do not change after start, so one copy is right for every caller; it is made without a
/// request, so it names no server taken from a caller's <c>Host</c> header.
/// </summary>
internal sealed class OpenApiDocumentCache(IServiceProvider services)
{
    private Task<byte[]>? _document;

    public async Task WriteAsync(HttpContext context)
    {
        if (!string.Equals(context.Request.RouteValues["documentName"] as string, OpenApiSetup.DocumentName, StringComparison.Ordinal))
        {
            await ApiErrorWriter.WriteAsync(context, StatusCodes.Status404NotFound, ApiErrorWriter.NotFound, "No such document.").ConfigureAwait(false);
            return;
        }

        var bytes = await DocumentAsync().ConfigureAwait(false);
        var response = context.Response;
        response.Headers.CacheControl = "no-cache";
        response.ContentType = "application/json;charset=utf-8";
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The document's bytes; made by the first caller, and made again only if making it failed.</summary>
    private Task<byte[]> DocumentAsync()
    {
        var current = Volatile.Read(ref _document);
        if (current is { IsFaulted: false, IsCanceled: false })
        {
            return current;
        }

        var made = RenderAsync();
        return Interlocked.CompareExchange(ref _document, made, current) == current ? made : _document!;
    }

    private async Task<byte[]> RenderAsync()
    {
        var provider = services.GetRequiredKeyedService<IOpenApiDocumentProvider>(OpenApiSetup.DocumentName);
        var document = await provider.GetOpenApiDocumentAsync(CancellationToken.None).ConfigureAwait(false);
        using var stream = new MemoryStream();
        await document.SerializeAsJsonAsync(stream, OpenApiSpecVersion.OpenApi3_1, CancellationToken.None).ConfigureAwait(false);
        return stream.ToArray();
    }
}
