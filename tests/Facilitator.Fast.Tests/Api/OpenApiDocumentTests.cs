using System.Net;
using System.Text.Json;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Api;

/// <summary>The OpenAPI document at <c>/openapi/v1.json</c>: valid OpenAPI 3, and every mapped route in it.</summary>
public sealed class OpenApiDocumentTests
{
    /// <summary>The routes deliberately left out: the pages' own files, their settings, and the document itself.</summary>
    private static readonly string[] s_undocumented = ["/dashboard/settings.json", "/dashboard/{file}", "/docs/{file}", "/openapi/{documentName}.json"];

    [Fact]
    public async Task Document_Served_ValidatesWithoutErrors()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));

        using var response = await gateway.Client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var read = OpenApiDocument.Parse(text, OpenApiConstants.Json, new OpenApiReaderSettings());

        Assert.Empty(read.Diagnostic!.Errors);
        Assert.StartsWith("3.", Json(text).GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var document = Assert.IsType<OpenApiDocument>(read.Document);
        Assert.Empty(document.Validate(ValidationRuleSet.GetDefaultRuleSet()) ?? []);
        Assert.Equal("Facilitator.Fast", document.Info?.Title);
        var schemes = document.Components?.SecuritySchemes ?? new Dictionary<string, IOpenApiSecurityScheme>();
        Assert.Contains("apiKey", schemes.Keys);
        Assert.Contains("bearer", schemes.Keys);
    }

    [Fact]
    public async Task Document_EveryMappedRoute_ListedWithItsMethods()
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var paths = Json(await gateway.Client.GetStringAsync("/openapi/v1.json")).GetProperty("paths");

        var routes = gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.True(routes.Count > 20, $"only {routes.Count} routes were found");
        var undocumented = new List<string>();
        foreach (var route in routes)
        {
            var pattern = "/" + route.RoutePattern.RawText!.TrimStart('/');
            if (route.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is { ExcludeFromDescription: true })
            {
                undocumented.Add(pattern);
                continue;
            }

            Assert.True(paths.TryGetProperty(pattern, out var item), $"{pattern} is not in the document");
            var methods = route.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            foreach (var method in methods)
            {
                Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out var operation), $"{method} {pattern} is not in the document");
                Assert.True(operation.TryGetProperty("responses", out _), $"{method} {pattern} has no responses");
            }
        }

        Assert.Equal(s_undocumented.Order(), undocumented.Order());
    }

    [Theory]
    [InlineData("/verify", "post", "X402Request", "X402VerifyAnswer")]
    [InlineData("/settle", "post", "X402Request", "X402SettleAnswer")]
    [InlineData("/v1/verify", "post", "V1VerifyRequest", "V1PaymentResult")]
    [InlineData("/api/facilitator-status", "get", null, "StatusReport")]
    [InlineData("/v1/analytics/revenue", "get", null, "RevenueReport")]
    [InlineData("/supported", "get", null, "SupportedResponse")]
    public async Task Document_Operation_HasItsBodySchemasAndErrorShape(string path, string method, string? request, string answer)
    {
        await using var upstream = await FakeFacilitator.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(GatewayHost.Upstreams(("only", upstream.Url)));
        var document = Json(await gateway.Client.GetStringAsync("/openapi/v1.json"));
        var operation = document.GetProperty("paths").GetProperty(path).GetProperty(method);
        var text = operation.GetRawText();

        if (request is not null)
        {
            Assert.Contains($"#/components/schemas/{request}", operation.GetProperty("requestBody").GetRawText(), StringComparison.Ordinal);
        }

        Assert.Contains($"#/components/schemas/{answer}", operation.GetProperty("responses").GetProperty("200").GetRawText(), StringComparison.Ordinal);
        Assert.Contains("#/components/schemas/ApiErrorAnswer", text, StringComparison.Ordinal);
        Assert.Contains("apiKey", operation.GetProperty("security").GetRawText(), StringComparison.Ordinal);
        Assert.True(document.GetProperty("components").GetProperty("schemas").TryGetProperty(answer, out var schema));
        Assert.Equal(JsonValueKind.Object, schema.GetProperty("properties").ValueKind);
    }
}
