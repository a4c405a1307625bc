using Facilitator.Fast.Edge;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Facilitator.Fast.Api;

/// <summary>
/// The OpenAPI 3.1 document of every endpoint at <c>GET /openapi/v1.json</c>, made once (on the first request, see
/// <see cref="OpenApiDocumentCache"/>) by <c>Microsoft.AspNetCore.OpenApi</c> from the endpoints' metadata and the source-generated JSON metadata of their
/// bodies, with the service's two credential schemes (the API key header and a bearer JWT) as the security requirement
/// of every operation but the pages', each naming its route group (which the <c>Auth</c> settings may leave open).
/// </summary>
public static class OpenApiSetup
{
    public const string DocumentPath = "/openapi/{documentName}.json";
    public const string DocumentName = "v1";
    private const string ApiKeyScheme = "apiKey";
    private const string BearerScheme = "bearer";

    public static IServiceCollection AddFacilitatorOpenApi(this IServiceCollection services, string apiKeyHeader)
    {
        services.ConfigureHttpJsonOptions(static json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, OpenApiJsonContext.Default));
        services.AddOpenApi(DocumentName, options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.AddDocumentTransformer((document, context, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Facilitator.Fast",
                    Version = ServiceVersion.Current,
                    Description = "An x402 facilitator gateway: the x402 facilitator API, the /v1 payment lifecycle and analytics, "
                        + "the status API, health, metrics, and the payment event stream (WebSocket at /ws).",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
                {
                    [ApiKeyScheme] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.ApiKey,
                        In = ParameterLocation.Header,
                        Name = apiKeyHeader,
                        Description = "An API key of Auth:ApiKeys.",
                    },
                    [BearerScheme] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.Http,
                        Scheme = "bearer",
                        BearerFormat = "JWT",
                        Description = "A JWT checked against Auth:Jwt (HS256 or ES256).",
                    },
                };
                AddEventStream(document, context.ApplicationServices.GetRequiredService<Events.EventsSettings>().Options);
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (metadata.OfType<PublicFileMetadata>().Any())
                {
                    return Task.CompletedTask;
                }

                var path = "/" + (context.Description.RelativePath ?? "");
                var group = metadata.OfType<RouteGroupMetadata>().FirstOrDefault()?.Group ?? RouteGroups.Of(new PathString(path.Split('?')[0]));
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] });
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] });
                operation.Description = (operation.Description is null ? "" : operation.Description + " ")
                    + $"Route group `{RouteGroups.Name(group)}`: credentials are required when Auth requires them for this group.";
                return Task.CompletedTask;
            });
        });
        return services;
    }

    /// <summary>The WebSocket endpoint, which answers any method, described as the GET that opens it.</summary>
    private static void AddEventStream(OpenApiDocument document, Events.EventsOptions events)
    {
        if (!events.Enabled)
        {
            return;
        }

        document.Paths ??= [];
        var operation = new OpenApiOperation
        {
            Summary = "The payment event stream: a WebSocket (subprotocol facilitator-events; a browser may present its credential as bearer.<token>).",
            Description = "Route group `v1`. Messages: subscribe/unsubscribe/ping in, connected/subscribed/payment:*/stats:update/facilitator:*/error/lagged out.",
            Tags = new HashSet<OpenApiTagReference> { new("Events", document) },
            Responses = new OpenApiResponses
            {
                ["101"] = new OpenApiResponse { Description = "Switching to the WebSocket protocol." },
                ["401"] = new OpenApiResponse { Description = "Credentials required or refused (the service's error format)." },
                ["403"] = new OpenApiResponse { Description = "An origin that may not open the stream." },
                ["426"] = new OpenApiResponse { Description = "Not a WebSocket upgrade." },
                ["429"] = new OpenApiResponse { Description = "Connection limits reached." },
            },
            Security =
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] },
            ],
        };
        document.Paths[events.Path] = new OpenApiPathItem { Operations = new() { [HttpMethod.Get] = operation } };
    }

    public static IEndpointRouteBuilder MapFacilitatorOpenApi(this IEndpointRouteBuilder endpoints)
    {
        var document = new OpenApiDocumentCache(endpoints.ServiceProvider);
        endpoints.MapGet(DocumentPath, document.WriteAsync).WithMetadata(PublicFileMetadata.Instance).ExcludeFromDescription();
        return endpoints;
    }
}
