using System.Globalization;
using Facilitator.Fast.State;
using StackExchange.Redis;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Applies the token buckets to each request: the client is the authenticated name (an API key's, or a token's
/// subject), else the connection's address (which forwarded headers set only for trusted proxies). Every limited
/// answer carries the seed's <c>X-RateLimit-Limit/Remaining/Reset</c> and the IETF draft's <c>RateLimit-Policy</c>
/// and <c>RateLimit</c> fields; a refused request gets 429 with <c>Retry-After</c>, in the x402 failure shape on
/// <c>/verify</c> and <c>/settle</c> and the API error format elsewhere.
/// </summary>
public sealed class RateLimiter
{
    private readonly Dictionary<string, RateLimitPolicy> _policies;
    private readonly Dictionary<string, Dictionary<string, RateLimitPolicy>> _clientPolicies = new(StringComparer.Ordinal);
    private readonly LocalTokenBuckets _local;

    /// <summary>Failed authentications per credential and per address, apart from the request buckets so a flood of
    /// made-up credentials cannot push clients' request buckets out.</summary>
    private readonly LocalTokenBuckets _authFailures;
    private readonly RedisTokenBuckets? _shared;
    private readonly RedisConnection? _redis;
    private readonly TimeProvider _time;
    private readonly bool _enabled;
    private readonly bool _failClosed;
    private long _refusals;

    public RateLimiter(RateLimitOptions options, TimeProvider time, RedisConnection? redis = null)
    {
        _enabled = options.Enabled;
        _time = time;
        _failClosed = options.FailClosed;
        _redis = redis;
        InvalidSettingException.ThrowIfOutOfRange("RateLimit:LeaseSize", options.LeaseSize, 1, 10_000);
        InvalidSettingException.ThrowIfOutOfRange("RateLimit:LeaseMs", options.LeaseMs, 1, 60_000);
        _shared = redis is null ? null : new RedisTokenBuckets(redis, time, options.LeaseSize, TimeSpan.FromMilliseconds(options.LeaseMs), options.MaxLocalBuckets);
        _policies = new(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, bucket) in options.Policies)
        {
            _policies[name] = PolicyOf($"RateLimit:Policies:{name}", name, bucket);
        }

        foreach (var (client, policies) in options.Clients)
        {
            var own = new Dictionary<string, RateLimitPolicy>(_policies, StringComparer.OrdinalIgnoreCase);
            foreach (var (name, bucket) in policies)
            {
                if (!_policies.ContainsKey(name))
                {
                    throw new InvalidSettingException($"RateLimit:Clients:{client}:{name}", $"is not a policy; the policies are {string.Join(", ", _policies.Keys)}.");
                }

                own[name] = PolicyOf($"RateLimit:Clients:{client}:{name}", name, bucket);
            }

            _clientPolicies[client] = own;
        }

        if (options.MaxLocalBuckets < 100)
        {
            throw new InvalidSettingException("RateLimit:MaxLocalBuckets", "must be at least 100.");
        }

        _local = new LocalTokenBuckets(time, options.MaxLocalBuckets);
        _authFailures = new LocalTokenBuckets(time, options.MaxLocalBuckets);
    }

    public Task InvokeAsync(HttpContext context, RequestDelegate next) =>
        !_enabled || EdgeHeaders.IsPreflight(context.Request)
            || RateLimitPolicy.NameFor(RouteGroups.Of(context), context.Request.Path) is not { } name || !_policies.TryGetValue(name, out var policy)
            ? next(context)
            : LimitAsync(context, next, name, policy);

    /// <remarks>
    /// Decided without waiting (the local buckets), the request's own task is returned: nothing of the limiter stays
    /// alive while the request runs, which for a WebSocket held open is the connection's whole life.
    /// </remarks>
    private Task LimitAsync(HttpContext context, RequestDelegate next, string name, RateLimitPolicy policy)
    {
        var client = context.Items[AuthenticationGate.ClientNameItem] as string ?? AddressKey(context);
        if (_clientPolicies.Count > 0 && _clientPolicies.TryGetValue(client, out var own))
        {
            policy = own[name];
        }

        var deciding = DecideAsync(policy, client);
        return deciding.IsCompletedSuccessfully
            ? Apply(context, next, policy, deciding.Result)
            : ApplyWhenDecidedAsync(context, next, policy, deciding);
    }

    private async Task ApplyWhenDecidedAsync(HttpContext context, RequestDelegate next, RateLimitPolicy policy, ValueTask<RateLimitDecision> deciding) =>
        await Apply(context, next, policy, await deciding.ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>
    /// Lets the request through (its own task) or refuses it with 429. A request let through gets its rate-limit
    /// headers when its answer starts, whatever the handler did to the headers meanwhile (the shield's 500 clears them).
    /// </summary>
    private Task Apply(HttpContext context, RequestDelegate next, RateLimitPolicy policy, RateLimitDecision decision)
    {
        // The instant the bucket is full again, as of the decision (not of whenever the answer starts).
        var fullAt = _time.GetUtcNow().ToUnixTimeSeconds() + (long)Math.Ceiling(decision.SecondsUntilFull);
        if (decision.Allowed)
        {
            context.Response.OnStarting(
                static state =>
                {
                    var (response, policy, decision, fullAt) = ((HttpResponse, RateLimitPolicy, RateLimitDecision, long))state;
                    WriteHeaders(response, policy, decision, fullAt);
                    return Task.CompletedTask;
                },
                (context.Response, policy, decision, fullAt));
            return next(context);
        }

        WriteHeaders(context.Response, policy, decision, fullAt);

        Interlocked.Increment(ref _refusals);
        Telemetry.FacilitatorTelemetry.RateLimitRefusals.Add(1, new KeyValuePair<string, object?>("facilitator.policy", policy.Name));
        var retryAfter = Math.Max(1, (int)Math.Ceiling(decision.SecondsUntilToken));
        context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        return EdgeRefusal.WriteAsync(
            context, StatusCodes.Status429TooManyRequests, ApiErrorWriter.TooManyRequests,
            $"Rate limited: the '{policy.Name}' limit of {policy.Capacity} requests, {policy.RefillPerSecond.ToString(CultureInfo.InvariantCulture)} more per second, is exceeded; retry in {retryAfter} s.");
    }

    /// <summary>
    /// Failed authentications a presented credential (counted under a hash of it) or an address may have: 20, then one
    /// more per second. A credential that keeps failing is refused before it is checked again (a costly token is not
    /// verified over and over); an address that keeps failing with unknown credentials is slowed, but only after the
    /// credential it presents was checked, so a valid key behind the same NAT is never refused for others' failures.
    /// </summary>
    private static readonly RateLimitPolicy s_credentialFailures = new("auth-failures-credential", 20, 1);

    private static readonly RateLimitPolicy s_addressFailures = new("auth-failures-address", 20, 1);

    /// <summary>Requests this instance refused with 429 for a rate limit since it started.</summary>
    public long Refusals => Volatile.Read(ref _refusals);

    /// <summary>True while the credential (its <see cref="RequestAuthenticator.CredentialKey"/>) may still be checked.</summary>
    public bool MayTryCredential(string credentialKey) => !_enabled || _authFailures.HasToken(s_credentialFailures, credentialKey);

    /// <summary>
    /// Charges a failed authentication to the credential and to the address; returns the seconds the address must wait
    /// when it has failed too often (then it is answered 429 instead of 401), else 0.
    /// </summary>
    public int RecordAuthenticationFailure(HttpContext context, string credentialKey)
    {
        if (!_enabled)
        {
            return 0;
        }

        _authFailures.TryTake(s_credentialFailures, credentialKey);
        var address = _authFailures.TryTake(s_addressFailures, AddressKey(context));
        return address.Allowed ? 0 : Math.Max(1, (int)Math.Ceiling(address.SecondsUntilToken));
    }

    /// <summary>The client key of an address: an IPv4 address, or the /64 network of an IPv6 one (a host controls its /64).</summary>
    internal static string AddressKey(HttpContext context)
    {
        if (context.Connection.RemoteIpAddress is not { } address)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new System.Net.IPAddress(bytes).ToString() + "/64";
    }

    /// <summary>
    /// The shared bucket when Redis is configured and answering; otherwise the local one (or a refusal, failing closed).
    /// After Redis times out, decisions use the local buckets at once while <see cref="RedisFailFast"/> backs off, with
    /// one request at a time trying Redis again, instead of each waiting for the timeout.
    /// </summary>
    private async ValueTask<RateLimitDecision> DecideAsync(RateLimitPolicy policy, string client)
    {
        if (_shared is not null)
        {
            var redis = _redis!;
            if (redis.IsConnected && redis.FailFast.TryUse(out var probe))
            {
                var succeeded = false;
                try
                {
                    if (probe)
                    {
                        // A lease could answer without Redis: the probe must reach it.
                        await redis.Database.PingAsync().ConfigureAwait(false);
                    }

                    var decision = await _shared.TryTakeAsync(policy, client).ConfigureAwait(false);
                    succeeded = true;
                    return decision;
                }
                catch (Exception ex) when (RedisConnection.IsFault(ex))
                {
                }
                finally
                {
                    redis.FailFast.Report(succeeded, probe);
                }
            }

            redis.CountFallback();
            if (_failClosed)
            {
                return new RateLimitDecision(false, 0, 1, policy.WindowSeconds);
            }
        }

        return _local.TryTake(policy, client);
    }

    private static RateLimitPolicy PolicyOf(string setting, string name, RateLimitOptions.BucketOptions bucket) =>
        bucket.Capacity < 1 || bucket.RefillPerSecond <= 0 || double.IsNaN(bucket.RefillPerSecond)
            ? throw new InvalidSettingException(setting, "needs a Capacity of at least 1 and a positive RefillPerSecond.")
            : new RateLimitPolicy(name.ToLowerInvariant(), bucket.Capacity, bucket.RefillPerSecond);

    /// <summary>Redis script calls made for decisions (lease mode makes this well under one per request).</summary>
    public long SharedScriptCalls => _shared?.ScriptCalls ?? 0;

    private static void WriteHeaders(HttpResponse response, RateLimitPolicy policy, RateLimitDecision decision, long fullAt)
    {
        var headers = response.Headers;
        var capacity = policy.Capacity.ToString(CultureInfo.InvariantCulture);
        var remaining = decision.Remaining.ToString(CultureInfo.InvariantCulture);
        var untilFull = ((int)Math.Ceiling(decision.SecondsUntilFull)).ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Limit"] = capacity;
        headers["X-RateLimit-Remaining"] = remaining;
        headers["X-RateLimit-Reset"] = fullAt.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Policy"] = $"\"{policy.Name}\";q={capacity};w={policy.WindowSeconds.ToString(CultureInfo.InvariantCulture)}";
        headers["RateLimit"] = $"\"{policy.Name}\";r={remaining};t={untilFull}";
    }
}
