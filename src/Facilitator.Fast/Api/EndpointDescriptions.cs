using Microsoft.AspNetCore.Http.Metadata;

namespace Facilitator.Fast.Api;

/// <summary>
/// What the OpenAPI document says of an endpoint whose handler reads and writes its body itself (a
/// <see cref="RequestDelegate"/>, so nothing can be inferred): its request body type and its answers.
/// </summary>
internal static class EndpointDescriptions
{
    private static readonly string[] s_json = ["application/json"];

    /// <summary>
    /// ASP.NET Core describes only endpoints that carry a handler method; a <see cref="RequestDelegate"/> endpoint carries
    /// none, so it is given this one, which says nothing but "takes the request" (its answers come from the metadata below).
    /// </summary>
    private static readonly System.Reflection.MethodInfo s_handler = new RequestDelegate(TakesTheRequest).Method;

    public static TBuilder Describe<TBuilder>(this TBuilder builder, string tag, string summary)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(s_handler).WithTags(tag).WithSummary(summary);

    private static Task TakesTheRequest(HttpContext context) => Task.CompletedTask;

    public static TBuilder Accepting<TBuilder>(this TBuilder builder, Type body)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new AcceptsMetadata(s_json, body));

    public static TBuilder Answering<TBuilder>(this TBuilder builder, int status, Type? body, string contentType = "application/json")
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new ProducesResponseTypeMetadata(status, body, [contentType]));

    /// <summary>The service's error format for each status given.</summary>
    public static TBuilder Failing<TBuilder>(this TBuilder builder, params int[] statuses)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ApiErrorAnswer), s_json));
        }

        return builder;
    }
}
