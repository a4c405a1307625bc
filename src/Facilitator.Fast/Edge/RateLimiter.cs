using System.Globalization;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Applies the token buckets to each request: the client is the authenticated name (an API key's, or a token's
/// subject), else the connection's address (which forwarded headers set only for trusted proxies). Every limited
/// answer carries the seed's <c>X-RateLimit-Limit/Remaining/Reset</c> and the IETF draft's <c>RateLimit-Policy</c>
/// and <c>RateLimit</c> fields; a refused request gets 429 with <c>Retry-After</c> in the API error format.
/// </summary>
public sealed class RateLimiter
{
    private readonly Dictionary<string, RateLimitPolicy> _policies;
    private readonly LocalTokenBuckets _local;
    private readonly TimeProvider _time;
    private readonly bool _enabled;

    public RateLimiter(RateLimitOptions options, TimeProvider time)
    {
        _enabled = options.Enabled;
        _time = time;
        _policies = new(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, bucket) in options.Policies)
        {
            if (bucket.Capacity < 1 || bucket.RefillPerSecond <= 0 || double.IsNaN(bucket.RefillPerSecond))
            {
                throw new InvalidSettingException($"RateLimit:Policies:{name}", "needs a Capacity of at least 1 and a positive RefillPerSecond.");
            }

            _policies[name] = new RateLimitPolicy(name.ToLowerInvariant(), bucket.Capacity, bucket.RefillPerSecond);
        }

        if (options.MaxLocalBuckets < 100)
        {
            throw new InvalidSettingException("RateLimit:MaxLocalBuckets", "must be at least 100.");
        }

        _local = new LocalTokenBuckets(time, options.MaxLocalBuckets);
    }

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (!_enabled || HttpMethods.IsOptions(context.Request.Method)
            || RateLimitPolicy.NameFor(context.Request.Path) is not { } name || !_policies.TryGetValue(name, out var policy))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var client = context.Items[AuthenticationGate.ClientNameItem] as string
            ?? context.Connection.RemoteIpAddress?.ToString()
            ?? "unknown";
        var decision = _local.TryTake(policy, client);
        WriteHeaders(context.Response, policy, decision);
        if (decision.Allowed)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var retryAfter = Math.Max(1, (int)Math.Ceiling(decision.SecondsUntilToken));
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        await ApiErrorWriter.WriteAsync(
            context, StatusCodes.Status429TooManyRequests, ApiErrorWriter.TooManyRequests,
            $"Rate limit '{policy.Name}' exceeded: {policy.Capacity} requests, {policy.RefillPerSecond.ToString(CultureInfo.InvariantCulture)} more per second; retry in {retryAfter} s.").ConfigureAwait(false);
    }

    private void WriteHeaders(HttpResponse response, RateLimitPolicy policy, RateLimitDecision decision)
    {
        var headers = response.Headers;
        var capacity = policy.Capacity.ToString(CultureInfo.InvariantCulture);
        var remaining = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        var untilFull = ((int)Math.Ceiling(decision.SecondsUntilFull)).ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Limit"] = capacity;
        headers["X-RateLimit-Remaining"] = remaining;
        headers["X-RateLimit-Reset"] = (_time.GetUtcNow().ToUnixTimeSeconds() + (long)Math.Ceiling(decision.SecondsUntilFull)).ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Policy"] = $"\"{policy.Name}\";q={capacity};w={policy.WindowSeconds.ToString(CultureInfo.InvariantCulture)}";
        headers["RateLimit"] = $"\"{policy.Name}\";r={remaining};t={untilFull}";
    }
}
