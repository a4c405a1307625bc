using System.Globalization;
using System.Text.Json;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;

namespace Facilitator.Fast.Api;

/// <summary>
/// The seed's monitoring API: <c>GET /api/facilitator-status?include=health|stats|logs|config&amp;logLimit=N</c> and
/// <c>POST /api/facilitator-status {"action":"check-health"}</c>, which probes every upstream now.
/// </summary>
public static class StatusEndpoints
{
    public const string Path = "/api/facilitator-status";
    private const int DefaultLogLimit = 100;
    private const int MaxActionBodyBytes = 4096;
    private static readonly string[] s_sections = ["health", "stats", "logs", "config"];

    public static IEndpointRouteBuilder MapStatusEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path, GetAsync)
            .Describe("Status", "The monitoring API: include=health,stats,logs,config and logLimit.")
            .Answering(StatusCodes.Status200OK, typeof(StatusReport))
            .Failing(400, 401, 403, 429);
        endpoints.MapPost(Path, PostAsync)
            .Describe("Status", "{\"action\":\"check-health\"} probes every upstream now and answers the health section.")
            .Accepting(typeof(StatusAction))
            .Answering(StatusCodes.Status200OK, typeof(StatusReport))
            .Failing(400, 401, 403, 413, 429);
        return endpoints;
    }

    private static Task GetAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var capacity = services.GetRequiredService<RoutingConfiguration>().Aggregator.OperationLogCapacity;
        var errors = new List<ApiErrorWriter.FieldError>();

        var requested = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var value in context.Request.Query["include"])
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (Array.IndexOf(s_sections, part.ToLowerInvariant()) < 0)
                {
                    errors.Add(new("include", $"'{part}' is not one of health, stats, logs, config."));
                }

                requested.Add(part);
            }
        }

        var logLimit = Math.Min(DefaultLogLimit, capacity);
        if (context.Request.Query.TryGetValue("logLimit", out var limitText))
        {
            if (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out logLimit) || logLimit < 1 || logLimit > capacity)
            {
                errors.Add(new("logLimit", $"must be a whole number from 1 to {capacity}."));
            }
        }

        if (errors.Count > 0)
        {
            return ApiErrorWriter.WriteAsync(context, StatusCodes.Status400BadRequest, ApiErrorWriter.ValidationError, "Invalid query.", errors);
        }

        var all = requested.Count == 0;
        var report = services.GetRequiredService<StatusReportBuilder>().Build(
            all || requested.Contains("health"),
            all || requested.Contains("stats"),
            all || requested.Contains("logs"),
            all || requested.Contains("config"),
            logLimit);
        return WriteAsync(context, report);
    }

    private static async Task PostAsync(HttpContext context)
    {
        using var body = RequestBodyReader.RentFor(context.Request, MaxActionBodyBytes);
        if (await RequestBodyReader.ReadAsync(context.Request, body, MaxActionBodyBytes, context.RequestAborted).ConfigureAwait(false)
            == BodyReadOutcome.TooLarge)
        {
            await ApiErrorWriter.WriteAsync(
                context, StatusCodes.Status413PayloadTooLarge, ApiErrorWriter.ValidationError, $"The body exceeds {MaxActionBodyBytes} bytes.").ConfigureAwait(false);
            return;
        }

        StatusAction? action;
        try
        {
            action = JsonSerializer.Deserialize(body.Span, ApiJsonContext.Default.StatusAction);
        }
        catch (JsonException)
        {
            action = null;
        }

        if (!string.Equals(action?.Action, "check-health", StringComparison.Ordinal))
        {
            await ApiErrorWriter.WriteAsync(
                context,
                StatusCodes.Status400BadRequest,
                ApiErrorWriter.ValidationError,
                "Unknown action.",
                [new("action", "must be \"check-health\" in a JSON body {\"action\":\"check-health\"}.")]).ConfigureAwait(false);
            return;
        }

        var services = context.RequestServices;
        await services.GetRequiredService<SupportedCatalog>().CheckHealthAsync().WaitAsync(context.RequestAborted).ConfigureAwait(false);

        var report = services.GetRequiredService<StatusReportBuilder>().Build(true, false, false, false, 0);
        await WriteAsync(context, report).ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, StatusReport report)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        return JsonSerializer.SerializeAsync(context.Response.Body, report, ApiJsonContext.Default.StatusReport, context.RequestAborted);
    }
}
