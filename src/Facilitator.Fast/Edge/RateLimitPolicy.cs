namespace Facilitator.Fast.Edge;

/// <summary>A bucket size and refill rate under a name, as the <c>RateLimit-Policy</c> header announces it.</summary>
public sealed record RateLimitPolicy(string Name, int Capacity, double RefillPerSecond)
{
    /// <summary>Seconds a full bucket takes to refill from empty: the policy's window.</summary>
    public int WindowSeconds => (int)Math.Ceiling(Capacity / RefillPerSecond);

    /// <summary>The policy of a request: verify, settle and supported/discovery apart; /api, /v1; none for health.</summary>
    public static string? NameFor(PathString path) => NameFor(RouteGroups.Of(path), path);

    /// <summary>The policy of a request in <paramref name="group"/> (see <see cref="RouteGroups.Of(HttpContext)"/>).</summary>
    public static string? NameFor(RouteGroup group, PathString path) => group switch
    {
        RouteGroup.Health => null,
        RouteGroup.Api => "api",
        RouteGroup.V1 => "v1",
        _ => path.StartsWithSegments("/settle") ? "settle" : path.StartsWithSegments("/verify") ? "verify" : "supported",
    };
}
