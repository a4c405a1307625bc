using Facilitator.Fast.Dashboard;
using Facilitator.Fast.Edge;

namespace Facilitator.Fast.Api;

/// <summary>
/// The pages served from the binary: <c>GET /dashboard</c> (the live status page) and <c>GET /docs</c> (the API
/// reference over <c>/openapi/v1.json</c>), with their files under <c>/dashboard/*</c> and <c>/docs/*</c>. Each answer
/// carries a strict <c>Content-Security-Policy</c>: scripts and styles only from the service itself, no inline script,
/// connections only to the service itself, no framing.
/// </summary>
public static class PageEndpoints
{
    public const string DashboardPath = "/dashboard";
    public const string DocsPath = "/docs";

    /// <summary>The dashboard's policy: nothing inline, nothing from elsewhere; <c>connect-src 'self'</c> covers the WebSocket.</summary>
    internal const string DashboardPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The reference UI sets element styles from its scripts (no inline script is allowed either way).</summary>
    internal const string DocsPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static IEndpointRouteBuilder MapPageEndpoints(this IEndpointRouteBuilder endpoints, DashboardOptions dashboard)
    {
        var services = endpoints.ServiceProvider;
        var pages = services.GetRequiredService<EmbeddedPages>();
        if (dashboard.Enabled)
        {
            var settings = SettingsOf(dashboard, services);
            endpoints.MapGet(DashboardPath + "/settings.json", context => WriteAsync(context, settings, DashboardPolicy))
                .WithMetadata(PublicFileMetadata.Instance)
                .ExcludeFromDescription();
            Map(endpoints, pages, DashboardPath, "dashboard", DashboardPolicy, "The live status page.");
        }

        Map(endpoints, pages, DocsPath, "docs", DocsPolicy, "The API reference (this document, rendered).");
        return endpoints;
    }

    /// <summary>What the page needs to know of the service: the API key header, the event stream's path, the poll interval.</summary>
    private static PageFile SettingsOf(DashboardOptions dashboard, IServiceProvider services)
    {
        var events = services.GetRequiredService<Events.EventsSettings>().Options;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("apiKeyHeader"u8, services.GetRequiredService<RequestAuthenticator>().ApiKeyHeader);
            writer.WriteString("eventsPath"u8, events.Enabled ? events.Path : null);
            writer.WriteNumber("statusIntervalMs"u8, dashboard.StatusIntervalMs);
            writer.WriteEndObject();
        }

        var content = buffer.WrittenSpan.ToArray();
        return new PageFile("dashboard/settings.json", content, "application/json", "\"" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content).AsSpan(0, 12)) + "\"");
    }

    private static void Map(IEndpointRouteBuilder endpoints, EmbeddedPages pages, string path, string page, string policy, string summary)
    {
        endpoints.MapGet(path, context => WriteAsync(context, pages.Find(page, "index.html"), policy))
            .WithMetadata(PublicFileMetadata.Instance)
            .Describe("Pages", summary)
            .Answering(StatusCodes.Status200OK, typeof(string), "text/html");
        endpoints.MapGet(path + "/{file}", context => WriteAsync(context, pages.Find(page, (string)context.Request.RouteValues["file"]!), policy))
            .WithMetadata(PublicFileMetadata.Instance)
            .ExcludeFromDescription();
    }

    private static Task WriteAsync(HttpContext context, PageFile? file, string policy)
    {
        var response = context.Response;
        if (file is null)
        {
            return ApiErrorWriter.WriteAsync(context, StatusCodes.Status404NotFound, ApiErrorWriter.NotFound, "No such file.");
        }

        var headers = response.Headers;
        headers.ContentSecurityPolicy = policy;
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-cache";
        headers.ETag = file.ETag;
        if (context.Request.Headers.IfNoneMatch.Count == 1 && string.Equals(context.Request.Headers.IfNoneMatch[0], file.ETag, StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = file.ContentType;
        response.ContentLength = file.Content.Length;
        return response.Body.WriteAsync(file.Content, context.RequestAborted).AsTask();
    }
}
