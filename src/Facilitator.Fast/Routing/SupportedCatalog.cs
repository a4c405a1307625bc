using System.Text.Json;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Routing;

/// <summary>
/// Answers <c>GET /supported</c> with the union of what the upstreams support, and keeps each upstream's own answer as
/// its known capabilities. The merged answer is cached; concurrent requests for an expired cache share one refresh.
/// </summary>
/// <remarks>
/// A refresh asks every upstream of the current snapshot at once. When only some answer, the union of those is
/// served but cached for at most <see cref="PartialCacheLimit"/>, so a missing upstream's kinds come back soon.
/// When none answers the caller gets 503, and that too is remembered for <see cref="FailureCacheLimit"/> so that a
/// burst of requests during an outage does not become a burst of probes against failing upstreams.
/// </remarks>
public sealed class SupportedCatalog
{
    public static readonly TimeSpan PartialCacheLimit = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan FailureCacheLimit = TimeSpan.FromSeconds(2);

    private readonly RoutingTable _table;
    private readonly FailoverRouter _router;
    private readonly TimeProvider _time;
    private readonly ILogger<SupportedCatalog> _logger;
    private readonly ICapabilityStore _shared;
    private readonly TimeSpan _cacheFor;
    private readonly int _maxResponseBytes;
    private readonly TimeSpan _checkHealthMinInterval;
    private long _lastRoundTicks;
    private SupportedAnswer? _cached;
    private Task<SupportedAnswer>? _refreshing;

    public SupportedCatalog(
        RoutingTable table, FailoverRouter router, RoutingConfiguration configuration, ICapabilityStore shared, TimeProvider time, ILogger<SupportedCatalog> logger)
    {
        _shared = shared;
        _table = table;
        _router = router;
        _time = time;
        _logger = logger;
        _cacheFor = TimeSpan.FromMilliseconds(configuration.Aggregator.SupportedCacheMs);
        _maxResponseBytes = configuration.Aggregator.MaxResponseBodyBytes;
        _checkHealthMinInterval = TimeSpan.FromMilliseconds(configuration.Aggregator.CheckHealthMinIntervalMs);
    }

    public ValueTask<SupportedAnswer> GetAsync(CancellationToken cancellationToken)
    {
        var cached = Volatile.Read(ref _cached);
        if (cached is not null && _time.GetUtcNow() < cached.ExpiresAt)
        {
            // Health moved since the merge: the kinds' extra (fee payers) must be those of the upstream now first in line.
            if (cached.Available && !ReferenceEquals(cached.Snapshot, _table.Current))
            {
                cached = cached with { Json = MergedJson(_table.Current, cached.Answered!), Snapshot = _table.Current };
                Volatile.Write(ref _cached, cached);
            }

            return ValueTask.FromResult(cached);
        }

        return new ValueTask<SupportedAnswer>(SharedRefresh().WaitAsync(cancellationToken));
    }

    /// <summary>Asks every upstream now (joining a refresh already under way) and caches the result.</summary>
    public Task<SupportedAnswer> RefreshAsync() => SharedRefresh();

    /// <summary>
    /// A probe round on demand: joins one under way, and within <c>Aggregator:CheckHealthMinIntervalMs</c> of the last
    /// one starts none (the health it found is current enough).
    /// </summary>
    public Task CheckHealthAsync()
    {
        var last = Volatile.Read(ref _lastRoundTicks);
        return last != 0 && _time.GetUtcNow().UtcTicks - last < _checkHealthMinInterval.Ticks ? Task.CompletedTask : SharedRefresh();
    }

    /// <summary>Asks one upstream for <c>/supported</c> now, recording the outcome; returns the attempt's failure, if any.</summary>
    public async Task<AttemptResult> ProbeAsync(Upstream upstream)
    {
        var result = await UpstreamCall.SendAsync(upstream, FacilitatorOperation.Supported, null, null, _maxResponseBytes, CancellationToken.None).ConfigureAwait(false);
        using (result.Body)
        {
            if (result.Answered)
            {
                if (TryParse(result.Body!.Span) is { } capabilities)
                {
                    upstream.Capabilities = capabilities;
                    _shared.Share(upstream.Id, JsonSerializer.SerializeToUtf8Bytes(capabilities, X402JsonContext.Default.SupportedResponse));
                }
                else
                {
                    result = result with { Failure = AttemptFailure.InvalidResponse, Detail = "kinds could not be read", Body = null };
                }
            }

            _router.Record(upstream, FacilitatorOperation.Supported, 1, result);
            // A refusal of the credentials is logged by the router, once when it starts, not every probe round.
            if (!result.Answered && result.Failure != AttemptFailure.CredentialsRefused)
            {
                RoutingLog.SupportedUnavailable(_logger, upstream.Id, result.Describe());
            }

            return result with { Body = null };
        }
    }

    private Task<SupportedAnswer> SharedRefresh()
    {
        while (true)
        {
            var running = Volatile.Read(ref _refreshing);
            if (running is { IsCompleted: false })
            {
                return running;
            }

            var source = new TaskCompletionSource<SupportedAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (Interlocked.CompareExchange(ref _refreshing, source.Task, running) == running)
            {
                _ = RefreshAsync(source);
                return source.Task;
            }
        }
    }

    private async Task RefreshAsync(TaskCompletionSource<SupportedAnswer> completion)
    {
        try
        {
            var routes = _table.Current.Routes;
            var probes = new Task<AttemptResult>[routes.Length];
            for (var i = 0; i < routes.Length; i++)
            {
                probes[i] = ProbeAsync(routes[i].Upstream);
            }

            var results = await Task.WhenAll(probes).ConfigureAwait(false);
            var answered = new HashSet<Upstream>();
            var failures = new List<string>();
            for (var i = 0; i < routes.Length; i++)
            {
                if (results[i].Answered && routes[i].Upstream.Capabilities is not null)
                {
                    answered.Add(routes[i].Upstream);
                }
                else
                {
                    failures.Add($"{routes[i].Upstream.Id}: {results[i].Describe()}");
                }
            }

            var now = _time.GetUtcNow();
            var snapshot = _table.Current;
            var json = MergedJson(snapshot, answered);
            var answer = answered.Count == 0
                ? new SupportedAnswer(json, now + Min(_cacheFor, FailureCacheLimit), false, string.Join("; ", failures), snapshot, answered)
                : new SupportedAnswer(json, now + (failures.Count == 0 ? _cacheFor : Min(_cacheFor, PartialCacheLimit)), true, null, snapshot, answered);
            Volatile.Write(ref _cached, answer);
            Volatile.Write(ref _lastRoundTicks, now.UtcTicks);

            completion.SetResult(answer);
        }
        catch (Exception ex)
        {
            completion.SetException(ex);
        }
    }

    /// <summary>The merged answer of the upstreams that answered, in the order payments would reach them: healthy first, then priority.</summary>
    private static byte[] MergedJson(RoutingSnapshot snapshot, IReadOnlySet<Upstream> answered)
    {
        var ordered = snapshot.Routes.Where(r => answered.Contains(r.Upstream)).OrderBy(static r => r.IsHealthy ? 0 : 1)
            .Select(static r => (r.Upstream.Id, r.Upstream.Capabilities!));
        return JsonSerializer.SerializeToUtf8Bytes(SupportedKindsMerger.Merge(ordered), X402JsonContext.Default.SupportedResponse);
    }

    /// <summary>
    /// Takes what another instance learned of an upstream's capabilities (through <see cref="ICapabilityStore"/>), so
    /// this one routes by them without probing.
    /// </summary>
    public void Learned(string upstreamId, byte[] supported)
    {
        if (TryParse(supported) is not { } capabilities)
        {
            return;
        }

        foreach (var route in _table.Current.Routes)
        {
            if (string.Equals(route.Upstream.Id, upstreamId, StringComparison.Ordinal))
            {
                route.Upstream.Capabilities = capabilities;
                RoutingLog.CapabilitiesLearned(_logger, upstreamId, capabilities.Kinds.Count);
            }
        }
    }

    private static SupportedResponse? TryParse(ReadOnlySpan<byte> body)
    {
        try
        {
            var parsed = JsonSerializer.Deserialize(body, X402JsonContext.Default.SupportedResponse);
            if (parsed?.Kinds is null)
            {
                return null;
            }

            parsed.Kinds.RemoveAll(static k => k is null || k.Scheme is null || k.Network is null);
            parsed.Extensions ??= [];
            parsed.Signers ??= [];
            return parsed;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

/// <summary>The merged <c>/supported</c> body and until when it may be served.</summary>
/// <param name="Available">False when no upstream answered; <paramref name="FailureSummary"/> says why.</param>
/// <param name="Snapshot">The routing snapshot (health) the kinds were merged under.</param>
/// <param name="Answered">The upstreams whose answers were merged.</param>
public sealed record SupportedAnswer(
    byte[] Json, DateTimeOffset ExpiresAt, bool Available, string? FailureSummary, RoutingSnapshot? Snapshot = null, IReadOnlySet<Upstream>? Answered = null);
