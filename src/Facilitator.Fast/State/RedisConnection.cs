using StackExchange.Redis;

namespace Facilitator.Fast.State;

/// <summary>
/// The one connection to Redis: keys and channels under the configured prefix (with cluster hash tags, so each
/// entity's keys share a slot), connection state for health reporting, and a count of operations that fell back to
/// local state because Redis could not be reached.
/// </summary>
public sealed partial class RedisConnection : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _multiplexer;
    private readonly string _prefix;
    private readonly bool _shardedEvents;
    private readonly Lazy<ConnectionMultiplexer>? _events;
    private readonly ConnectionMultiplexer? _ledger;
    private long _fallbacks;

    private RedisConnection(ConnectionMultiplexer multiplexer, string prefix, RedisFailFast failFast, ConfigurationOptions? configuration = null, bool shardedEvents = false)
    {
        _multiplexer = multiplexer;
        _prefix = prefix;
        _shardedEvents = shardedEvents;
        if (configuration is not null)
        {
            var events = configuration.Clone();
            events.ClientName = "facilitator-fast-events";
            _events = new Lazy<ConnectionMultiplexer>(() => ConnectionMultiplexer.Connect(events));
            // At start, not on first use: a first settle burst must not block threads on a connection being made.
            var ledger = configuration.Clone();
            ledger.ClientName = "facilitator-fast-ledger";
            _ledger = ConnectionMultiplexer.Connect(ledger);
        }

        FailFast = failFast;
        InstanceId = Guid.NewGuid().ToString("N")[..12];
    }

    /// <summary>Identifies this process among the instances sharing the Redis.</summary>
    public string InstanceId { get; }

    public bool IsConnected => _multiplexer.IsConnected;

    /// <summary>Whether Redis timed out recently and callers with a local fallback skip it for now (shown by <c>/health</c>).</summary>
    public bool IsFailingFast => FailFast.IsFailingFast;

    /// <summary>The back-off after Redis failed to answer; see <see cref="RedisFailFast"/>.</summary>
    public RedisFailFast FailFast { get; }

    public long Fallbacks => Volatile.Read(ref _fallbacks);

    public IDatabase Database => _multiplexer.GetDatabase();

    public ISubscriber Subscriber => _multiplexer.GetSubscriber();

    /// <summary>
    /// Pub/sub for the event stream on connections of its own: its publishes, which Redis holds like writes during a
    /// pause, never queue ahead of the ledger's, rate limiter's or payment store's commands.
    /// </summary>
    public ISubscriber EventsSubscriber => (_events?.Value ?? _multiplexer).GetSubscriber();

    /// <summary>
    /// The settlement ledger's connections: the <c>WAIT</c> after a ledger write blocks the connection it is sent on
    /// until replicas answer, which must not hold up the rate limiter's, payment store's or health's commands.
    /// </summary>
    public IDatabase LedgerDatabase => LedgerMultiplexer.GetDatabase();

    internal IConnectionMultiplexer LedgerMultiplexer => _ledger ?? _multiplexer;

    /// <summary>The shared connection, for commands that must not queue behind the ledger's <c>WAIT</c>s.</summary>
    internal IConnectionMultiplexer SharedMultiplexer => _multiplexer;

    /// <summary>Raised when the connection is restored, so shared state can be read again.</summary>
    public event Action? Restored;

    /// <summary>Connects without failing when Redis is down: operations fall back until it is reachable.</summary>
    public static RedisConnection Connect(RedisOptions options, ILogger logger, TimeProvider time)
    {
        var configuration = ParseConfiguration(options.ConnectionString!, options.Setting);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = 2000;
        configuration.SyncTimeout = 2000;
        configuration.AsyncTimeout = 2000;
        configuration.ReconnectRetryPolicy = new LinearRetry(500);
        configuration.ClientName = "facilitator-fast";
        var multiplexer = ConnectionMultiplexer.Connect(configuration);
        var connection = new RedisConnection(multiplexer, options.KeyPrefix, new RedisFailFast(time, logger), configuration, options.ShardedPubSub);
        multiplexer.ConnectionFailed += (_, e) => ConnectionLost(logger, e.FailureType.ToString());
        multiplexer.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
            {
                ConnectionBack(logger);
                connection.Restored?.Invoke();
            }
        };
        return connection;
    }

    /// <summary>
    /// Warns when Redis may lose settlement records: a <c>maxmemory-policy</c> other than <c>noeviction</c> lets it evict
    /// them under memory pressure, and without the append-only file a restart loses them — either way a repeat of such
    /// a settlement reaches an upstream again, a pending one possibly a second upstream. What was read is kept for
    /// <c>/health</c>.
    /// </summary>
    public async Task CheckDurabilityAsync(ILogger logger)
    {
        try
        {
            // INFO through a script: the client refuses INFO itself outside admin mode, which this service does not enable.
            var result = (RedisResult[])(await Database.ScriptEvaluateAsync("""
                return {string.match(redis.call('INFO', 'memory'), 'maxmemory_policy:(%S+)'),
                        string.match(redis.call('INFO', 'persistence'), 'aof_enabled:(%d)')}
                """).ConfigureAwait(false))!;
            EvictionPolicy = result.Length > 0 && !result[0].IsNull ? (string?)result[0] : null;
            AppendOnly = result.Length > 1 && !result[1].IsNull ? (string?)result[1] == "1" : null;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidCastException)
        {
            EvictionPolicy = null;
            AppendOnly = null;
        }

        if (EvictionPolicy is null || AppendOnly is null)
        {
            DurabilityUnknown(logger);
        }

        if (EvictionPolicy is { } policy && policy != "noeviction")
        {
            EvictionPolicyUnsafe(logger, policy);
        }

        if (AppendOnly == false)
        {
            AppendOnlyOff(logger);
        }
    }

    /// <summary>Redis's <c>maxmemory-policy</c> as read at start, or null when unknown.</summary>
    public string? EvictionPolicy { get; private set; }

    /// <summary>Whether Redis writes its append-only file, as read at start, or null when unknown.</summary>
    public bool? AppendOnly { get; private set; }

    /// <summary>A key <c>{prefix}{tag}:{rest}</c>; the braces make the tag the cluster hash slot.</summary>
    public RedisKey Key(string tag, string rest) => $"{_prefix}{{{tag}}}:{rest}";

    public RedisChannel Channel(string name) => RedisChannel.Literal(_prefix + name);

    /// <summary>The events channel: sharded when <see cref="RedisOptions.ShardedPubSub"/> is set, else like <see cref="Channel"/>.</summary>
    public RedisChannel EventsChannel(string name) => _shardedEvents ? RedisChannel.Sharded(_prefix + name) : Channel(name);

    /// <summary>A connection failure or a timeout (<c>RedisTimeoutException</c> is a <see cref="TimeoutException"/>, not a <see cref="RedisException"/>).</summary>
    public static bool IsFault(Exception ex) => ex is RedisException or TimeoutException;

    public void CountFallback()
    {
        Interlocked.Increment(ref _fallbacks);
        Telemetry.FacilitatorTelemetry.RedisFallbacks.Add(1);
    }

    /// <summary>
    /// Accepts <c>host:port,options</c> or <c>redis[s]://[user:password@]host[:port][/db]</c>; anything else stops the
    /// start naming <paramref name="setting"/> (never echoing the value, which may hold a password).
    /// </summary>
    internal static ConfigurationOptions ParseConfiguration(string text, string setting = "Redis:ConnectionString")
    {
        if (!text.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) && !text.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
        {
            ConfigurationOptions parsed;
            try
            {
                parsed = ConfigurationOptions.Parse(text);
            }
            catch (ArgumentException ex)
            {
                // StackExchange.Redis names an unknown option in ParamName; only a plain keyword is repeated, never a value.
                var option = ex.ParamName is { Length: > 0 and <= 40 } name && name.All(static c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? $" ('{name}')" : "";
                throw new InvalidSettingException(setting, $"has an option StackExchange.Redis does not know or cannot read{option}; expected host:port[,option=value...] or redis[s]://[user:password@]host[:port][/db].");
            }

            return parsed.EndPoints.Count > 0
                ? parsed
                : throw new InvalidSettingException(setting, "names no host; expected host:port[,option=value...] or redis[s]://[user:password@]host[:port][/db].");
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host) || uri.Port is < -1 or 0 or > 65535
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new InvalidSettingException(setting, "is not a valid redis[s]://[user:password@]host[:port][/db] URL.");
        }

        var options = new ConfigurationOptions { Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port);
        if (uri.UserInfo.Length > 0)
        {
            var parts = Uri.UnescapeDataString(uri.UserInfo).Split(':', 2);
            if (parts.Length == 2)
            {
                options.User = parts[0].Length > 0 ? parts[0] : null;
                options.Password = parts[1];
            }
            else
            {
                options.Password = parts[0];
            }
        }

        if (uri.AbsolutePath.Trim('/') is { Length: > 0 } database)
        {
            if (!int.TryParse(database, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var db))
            {
                throw new InvalidSettingException(setting, "names a database that is not a number (redis://host:port/0).");
            }

            options.DefaultDatabase = db;
        }

        return options;
    }

    public async ValueTask DisposeAsync()
    {
        if (_events is { IsValueCreated: true })
        {
            await _events.Value.CloseAsync().ConfigureAwait(false);
        }

        if (_ledger is not null)
        {
            await _ledger.CloseAsync().ConfigureAwait(false);
        }

        await _multiplexer.CloseAsync().ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Redis maxmemory-policy is {Policy}: under memory pressure Redis may evict settlement records, and a repeat of an evicted settlement reaches an upstream again. Set maxmemory-policy noeviction (see README, Shared state)")]
    private static partial void EvictionPolicyUnsafe(ILogger logger, string policy);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Redis maxmemory-policy or appendonly could not be read; make sure they are noeviction and yes so settlement records are neither evicted nor lost on a restart")]
    private static partial void DurabilityUnknown(ILogger logger);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Redis runs without its append-only file (appendonly no): a Redis restart loses settlement records, and a repeat of a pending settlement may then reach a second upstream. Set appendonly yes (see README, Shared state)")]
    private static partial void AppendOnlyOff(ILogger logger);

    [LoggerMessage(EventId = 4000, Level = LogLevel.Warning, Message = "Redis connection lost ({FailureType}); shared state falls back to local state until it returns")]
    private static partial void ConnectionLost(ILogger logger, string failureType);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Redis connection restored; shared state is read again")]
    private static partial void ConnectionBack(ILogger logger);
}
