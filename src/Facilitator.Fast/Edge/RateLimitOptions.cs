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

    public Dictionary<string, BucketOptions> Policies { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["verify"] = new() { Capacity = 100, RefillPerSecond = 50 },
        ["settle"] = new() { Capacity = 20, RefillPerSecond = 10 },
        ["supported"] = new() { Capacity = 50, RefillPerSecond = 25 },
        ["api"] = new() { Capacity = 20, RefillPerSecond = 10 },
        ["v1"] = new() { Capacity = 100, RefillPerSecond = 50 },
    };

    public sealed class BucketOptions
    {
        public int Capacity { get; set; }

        public double RefillPerSecond { get; set; }
    }
}
