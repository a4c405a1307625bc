namespace Facilitator.Fast.Edge;

/// <summary>Section <c>Edge</c>: what the service accepts from the network before any handler runs.</summary>
public sealed class EdgeOptions
{
    public const string SectionName = "Edge";

    public CorsOptions Cors { get; set; } = new();

    public LimitsOptions Limits { get; set; } = new();

    /// <summary>
    /// Proxies whose <c>X-Forwarded-For</c> / <c>Forwarded</c> headers are believed (addresses or CIDR networks, e.g.
    /// <c>10.0.0.0/8</c>). Empty (the default): the socket's address is the client, whatever the headers say.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>
    /// The one header the trusted proxies write: <c>X-Forwarded-For</c> (default) or <c>Forwarded</c>. The other is
    /// ignored, because proxies pass through what they do not write, and a client could set it.
    /// </summary>
    public string ForwardedHeader { get; set; } = "X-Forwarded-For";

    /// <summary>Browser origins allowed to call the service (CORS); none by default.</summary>
    public sealed class CorsOptions
    {
        public List<string> AllowedOrigins { get; set; } = [];

        public List<string> AllowedMethods { get; set; } = ["GET", "POST", "OPTIONS"];

        public List<string> AllowedHeaders { get; set; } = ["Content-Type", "Authorization", "X-API-Key", "X-Request-Id"];
    }

    /// <summary>Kestrel's limits, set deliberately (see README): slow, large or numerous requests cost bounded resources.</summary>
    public sealed class LimitsOptions
    {
        public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

        public int MaxRequestHeaderCount { get; set; } = 64;

        public int MaxRequestLineSize { get; set; } = 8 * 1024;

        /// <summary>Time a client has to send all request headers (slow-loris bound).</summary>
        public int RequestHeadersTimeoutSeconds { get; set; } = 10;

        public int KeepAliveTimeoutSeconds { get; set; } = 120;

        /// <summary>
        /// Seconds a new connection has to send its first bytes before it is closed. Kestrel's own timeouts start with
        /// the first byte; before it a silent socket would be kept for <see cref="KeepAliveTimeoutSeconds"/>.
        /// </summary>
        public int FirstRequestTimeoutSeconds { get; set; } = 5;

        /// <summary>Connections one client address (IPv4, or IPv6 /64) may hold open at once; 0: no cap. Trusted proxies are exempt.</summary>
        public int MaxConnectionsPerClient { get; set; } = 64;

        /// <summary>Open connections at once; further ones are refused until some close.</summary>
        public long MaxConcurrentConnections { get; set; } = 10_000;

        /// <summary>A request body slower than this (bytes per second, after a 5 s grace) is aborted.</summary>
        public int MinRequestBodyBytesPerSecond { get; set; } = 240;

        /// <summary>Stops the start on a limit Kestrel would refuse only when it starts listening (with a stack trace).</summary>
        public void Validate()
        {
            InvalidSettingException.ThrowIfOutOfRange("Edge:Limits:MaxRequestHeadersTotalSize", MaxRequestHeadersTotalSize, 1024, 1024 * 1024);
            InvalidSettingException.ThrowIfOutOfRange("Edge:Limits:MaxRequestHeaderCount", MaxRequestHeaderCount, 8, 10_000);
            InvalidSettingException.ThrowIfOutOfRange("Edge:Limits:MaxRequestLineSize", MaxRequestLineSize, 1024, 1024 * 1024);
            InvalidSettingException.ThrowIfOutOfRange("Edge:Limits:RequestHeadersTimeoutSeconds", RequestHeadersTimeoutSeconds, 1, 3600);
            InvalidSettingException.ThrowIfOutOfRange("Edge:Limits:KeepAliveTimeoutSeconds", KeepAliveTimeoutSeconds, 1, 86_400);
            InvalidSettingException.ThrowIfOutOfRange("Edge:Limits:MinRequestBodyBytesPerSecond", MinRequestBodyBytesPerSecond, 1, 1024 * 1024 * 1024);
            InvalidSettingException.ThrowIfOutOfRange("Edge:Limits:FirstRequestTimeoutSeconds", FirstRequestTimeoutSeconds, 1, 3600);
            InvalidSettingException.ThrowIfOutOfRange("Edge:Limits:MaxConnectionsPerClient", MaxConnectionsPerClient, 0, 10_000_000);
            if (MaxConcurrentConnections is < 1 or > 10_000_000)
            {
                throw new InvalidSettingException("Edge:Limits:MaxConcurrentConnections", "must be from 1 to 10000000.");
            }
        }
    }
}
