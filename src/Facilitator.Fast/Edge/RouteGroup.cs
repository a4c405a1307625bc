namespace Facilitator.Fast.Edge;

/// <summary>The groups of routes that authentication and rate limits are configured for.</summary>
public enum RouteGroup : byte
{
    X402 = 0,
    Api,
    V1,
    Health,
}

/// <summary>
/// Puts an endpoint in a route group whatever its path: an endpoint whose path is configurable (the event stream's
/// <c>Events:Path</c>) cannot be placed by prefix.
/// </summary>
public sealed record RouteGroupMetadata(RouteGroup Group);

/// <summary>Maps a request path to its <see cref="RouteGroup"/>, and group names to values.</summary>
public static class RouteGroups
{
    /// <summary>The group of the request's endpoint when it names one (<see cref="RouteGroupMetadata"/>), else of its path.</summary>
    public static RouteGroup Of(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<RouteGroupMetadata>() is { } metadata ? metadata.Group : Of(context.Request.Path);

    public static RouteGroup Of(PathString path) =>
        path.StartsWithSegments("/health") ? RouteGroup.Health
        : path.StartsWithSegments("/api") ? RouteGroup.Api
        : path.StartsWithSegments("/v1") ? RouteGroup.V1
        : RouteGroup.X402;

    public static string Name(RouteGroup group) => group switch
    {
        RouteGroup.Api => "api",
        RouteGroup.V1 => "v1",
        RouteGroup.Health => "health",
        _ => "x402",
    };

    public static bool TryParse(string name, out RouteGroup group)
    {
        foreach (var candidate in Enum.GetValues<RouteGroup>())
        {
            if (string.Equals(Name(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                group = candidate;
                return true;
            }
        }

        group = default;
        return false;
    }
}
