namespace Facilitator.Fast.Events;

/// <summary>What happens to a subscriber whose send queue is full because it does not read fast enough.</summary>
public enum SlowConsumerPolicy : byte
{
    /// <summary>The oldest queued events are dropped; once it catches up it is sent <c>lagged</c> with how many.</summary>
    DropOldest = 0,

    /// <summary>The connection is closed with 1013 (try again later); the client reconnects and resubscribes.</summary>
    Close,
}

/// <summary>
/// Section <c>Events</c>: the payment event stream (raw WebSocket at <see cref="Path"/>). Every bound is here, because
/// one subscriber must never cost more than its share: a queue, a socket, no buffer while idle.
/// </summary>
public sealed class EventsOptions
{
    public const string SectionName = "Events";

    public bool Enabled { get; set; } = true;

    /// <summary>Where the WebSocket is served (in the <c>v1</c> route group: the same credentials as <c>/v1</c>).</summary>
    public string Path { get; set; } = "/ws";

    /// <summary>How often <c>stats:update</c> goes to <c>stats</c> subscribers (nothing is computed while there are none).</summary>
    public int StatsIntervalMs { get; set; } = 5000;

    /// <summary>Ping every this long; a peer that does not answer within <see cref="PongTimeoutMs"/> is closed.</summary>
    public int PingIntervalMs { get; set; } = 30_000;

    public int PongTimeoutMs { get; set; } = 10_000;

    /// <summary>Frames queued for one subscriber at most; past it <see cref="SlowConsumerPolicy"/> applies.</summary>
    public int ClientQueueCapacity { get; set; } = 256;

    public SlowConsumerPolicy SlowConsumerPolicy { get; set; } = SlowConsumerPolicy.DropOldest;

    /// <summary>WebSocket connections on this instance; more are refused with 429 before the upgrade.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Connections from one client address (IPv4, or IPv6 /64); 0: no cap.</summary>
    public int MaxConnectionsPerClient { get; set; } = 32;

    /// <summary>A client message larger than this is refused (an <c>error</c> frame) and counts as a bad frame.</summary>
    public int MaxInboundMessageBytes { get; set; } = 4096;

    /// <summary>Bad frames a connection may send; the next one closes it with 1008.</summary>
    public int MaxBadFrames { get; set; } = 10;

    /// <summary>A connection that has sent no valid <c>subscribe</c> or <c>unsubscribe</c> this long is closed (1008); 0: never.</summary>
    public int SubscribeTimeoutMs { get; set; } = 60_000;

    /// <summary>A send that does not complete this long (a peer that stopped reading) aborts the connection.</summary>
    public int SendTimeoutMs { get; set; } = 30_000;

    /// <summary>Events waiting to be serialised and fanned out; when full a new event is dropped and counted, never waited for.</summary>
    public int PublishQueueCapacity { get; set; } = 65_536;

    /// <summary>
    /// Over plain HTTP/1.1, write frames to the connection's socket itself once Kestrel's pipe is proven empty (a ping
    /// through Kestrel answered with nothing written since); false keeps every write on Kestrel's path.
    /// </summary>
    public bool DirectWrites { get; set; } = true;

    /// <summary>Reads and validates section <c>Events</c>; throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public static EventsOptions Load(IConfiguration configuration)
    {
        var options = new EventsOptions();
        try
        {
            configuration.GetSection(SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidSettingException(SectionName, ex.Message.ReplaceLineEndings(" "));
        }

        options.Validate();
        return options;
    }

    private void Validate()
    {
        if (!IsValidPath(Path))
        {
            throw new InvalidSettingException("Events:Path", "must be an absolute path of letters, digits and -._~/ (e.g. /ws), at most 128 characters, outside /health, /api and the x402 endpoints.");
        }

        InvalidSettingException.ThrowIfOutOfRange("Events:StatsIntervalMs", StatsIntervalMs, 100, 3_600_000);
        InvalidSettingException.ThrowIfOutOfRange("Events:PingIntervalMs", PingIntervalMs, 1000, 3_600_000);
        InvalidSettingException.ThrowIfOutOfRange("Events:PongTimeoutMs", PongTimeoutMs, 1000, 3_600_000);
        InvalidSettingException.ThrowIfOutOfRange("Events:ClientQueueCapacity", ClientQueueCapacity, 8, 65_536);
        InvalidSettingException.ThrowIfOutOfRange("Events:MaxConnections", MaxConnections, 1, 1_000_000);
        InvalidSettingException.ThrowIfOutOfRange("Events:MaxConnectionsPerClient", MaxConnectionsPerClient, 0, 1_000_000);
        InvalidSettingException.ThrowIfOutOfRange("Events:MaxInboundMessageBytes", MaxInboundMessageBytes, 256, 65_536);
        InvalidSettingException.ThrowIfOutOfRange("Events:MaxBadFrames", MaxBadFrames, 0, 10_000);
        InvalidSettingException.ThrowIfOutOfRange("Events:SubscribeTimeoutMs", SubscribeTimeoutMs, 0, 86_400_000);
        InvalidSettingException.ThrowIfOutOfRange("Events:SendTimeoutMs", SendTimeoutMs, 1000, 3_600_000);
        InvalidSettingException.ThrowIfOutOfRange("Events:PublishQueueCapacity", PublishQueueCapacity, 1024, 10_000_000);
        if (!Enum.IsDefined(SlowConsumerPolicy))
        {
            throw new InvalidSettingException("Events:SlowConsumerPolicy", "must be DropOldest or Close.");
        }
    }

    private static bool IsValidPath(string? path)
    {
        if (path is not { Length: >= 2 and <= 128 } || path[0] != '/' || path.EndsWith('/') || path.Contains("//", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in path)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '.' or '_' or '~' or '/'))
            {
                return false;
            }
        }

        var at = new PathString(path);
        string[] taken = ["/health", "/api", "/verify", "/settle", "/supported", "/discovery"];
        return !taken.Any(prefix => at.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase));
    }
}
