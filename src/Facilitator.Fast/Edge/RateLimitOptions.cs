namespace Facilitator.Fast.Edge;

/// <summary>
/// Section <c>RateLimit</c>: token buckets per client (the API key's name, else the client address) and per policy.
/// A bucket holds up to <c>Capacity</c> tokens and regains <c>RefillPerSecond</c>; each request takes one.
/// </summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimit";

    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Tokens an instance takes from the shared (Redis) bucket at once and spends locally, so that a decision costs
    /// well under one Redis command; 1 takes a token per request. Unspent leased tokens lapse after <see cref="LeaseMs"/>.
    /// </summary>
    public int LeaseSize { get; set; } = 10;

    public int LeaseMs { get; set; } = 1000;

    /// <summary>When Redis cannot be reached: false (default) decides with local buckets; true refuses with 429.</summary>
    public bool FailClosed { get; set; }

    /// <summary>Buckets kept in memory at most; idle full buckets are dropped first.</summary>
    public int MaxLocalBuckets { get; set; } = 100_000;

    /// <summary>
    /// Per client (an address, or an authenticated name), per policy. The payment policies are sized for one busy
    /// resource server — a verify and a settle per paid request at a few thousand requests a second — because the
    /// limit is there to stop a runaway or hostile client from starving the others, not to meter normal traffic.
    /// </summary>
    public Dictionary<string, BucketOptions> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["verify"] = new() { Capacity = 5000, RefillPerSecond = 2500 },
        ["settle"] = new() { Capacity = 5000, RefillPerSecond = 2500 },
        ["supported"] = new() { Capacity = 2000, RefillPerSecond = 1000 },
        ["api"] = new() { Capacity = 20, RefillPerSecond = 10 },
        ["v1"] = new() { Capacity = 10000, RefillPerSecond = 7500 },
    };

    /// <summary>
    /// Policies of particular clients, by the name the rate limiter knows them by (an API key's <c>Name</c>, a token's
    /// <c>jwt:&lt;sub&gt;</c>, or an address), overriding <see cref="Policies"/> for them policy by policy.
    /// </summary>
    public Dictionary<string, Dictionary<string, BucketOptions>> Clients { get; set; } = new(StringComparer.Ordinal);

    public sealed class BucketOptions
    {
        public int Capacity { get; set; }

        public double RefillPerSecond { get; set; }
    }
}
