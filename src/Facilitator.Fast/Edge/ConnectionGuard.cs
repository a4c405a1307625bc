using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Kestrel connection middleware bounding what one client can hold open. A connection that sends nothing within
/// <c>Edge:Limits:FirstRequestTimeoutSeconds</c> is closed: Kestrel's request-headers timeout starts only with the first
/// byte, and before it a silent socket is kept for the keep-alive timeout (120 s). And one client address (an IPv4
/// address, or the /64 of an IPv6 one) holds at most <c>Edge:Limits:MaxConnectionsPerClient</c> connections at once;
/// a connection beyond that is closed as soon as it is accepted. Trusted proxies are exempt from the cap: every client
/// behind them shares their address.
/// </summary>
public sealed partial class ConnectionGuard
{
    private static readonly TimeSpan s_warningInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<UInt128, int> _open = new();
    private readonly TimeSpan _firstRequestTimeout;
    private readonly int _maxPerClient;
    private readonly TrustedProxyForwarding _proxies;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _refusedSinceWarning;
    private long _lastWarningTimestamp = long.MinValue;

    public ConnectionGuard(EdgeOptions.LimitsOptions limits, TrustedProxyForwarding proxies, TimeProvider time, ILogger logger)
    {
        _firstRequestTimeout = TimeSpan.FromSeconds(limits.FirstRequestTimeoutSeconds);
        _maxPerClient = limits.MaxConnectionsPerClient;
        _proxies = proxies;
        _time = time;
        _logger = logger;
    }

    /// <summary>Connections open now per client key, for tests and diagnostics.</summary>
    internal int TrackedClients => _open.Count;

    /// <summary>The middleware, for <c>ListenOptions.Use</c>.</summary>
    public ConnectionDelegate Wrap(ConnectionDelegate next) => connection => OnConnectedAsync(connection, next);

    private async Task OnConnectedAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        UInt128? client = null;
        if (_maxPerClient > 0 && connection.RemoteEndPoint is IPEndPoint { Address: var address } && !_proxies.IsTrusted(address))
        {
            var key = KeyOf(address);
            client = key;
            if (_open.AddOrUpdate(key, 1, static (_, n) => n + 1) > _maxPerClient)
            {
                Release(key);
                Refused(address);
                return;
            }
        }

        try
        {
            if (await FirstBytesArriveAsync(connection).ConfigureAwait(false))
            {
                await next(connection).ConfigureAwait(false);
            }
            else
            {
                Silent(_logger, connection.ConnectionId, (int)_firstRequestTimeout.TotalSeconds);
            }
        }
        finally
        {
            if (client is { } key)
            {
                Release(key);
            }
        }
    }

    /// <summary>Waits for the connection's first bytes without consuming them (the HTTP layer reads them next); false when none came in time.</summary>
    private async ValueTask<bool> FirstBytesArriveAsync(ConnectionContext connection)
    {
        using var timeout = new CancellationTokenSource(_firstRequestTimeout, _time);
        var input = connection.Transport.Input;
        try
        {
            var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            input.AdvanceTo(result.Buffer.Start);
            return !result.Buffer.IsEmpty && !result.IsCanceled;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Release(UInt128 key)
    {
        while (_open.TryGetValue(key, out var count))
        {
            if (count <= 1 ? _open.TryRemove(new KeyValuePair<UInt128, int>(key, count)) : _open.TryUpdate(key, count - 1, count))
            {
                return;
            }
        }
    }

    /// <summary>Logs refusals at most once a minute (with how many there were), so a flood of connections cannot flood the log.</summary>
    private void Refused(IPAddress address)
    {
        var refused = Interlocked.Increment(ref _refusedSinceWarning);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastWarningTimestamp);
        if ((last == long.MinValue || _time.GetElapsedTime(last, now) >= s_warningInterval)
            && Interlocked.CompareExchange(ref _lastWarningTimestamp, now, last) == last)
        {
            Interlocked.Add(ref _refusedSinceWarning, -refused);
            ConnectionsRefused(_logger, refused, _maxPerClient, address.ToString());
        }
    }

    /// <summary>An IPv4 address as itself (in its IPv6-mapped form); an IPv6 address by its /64, which one host controls.</summary>
    internal static UInt128 KeyOf(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            bytes[10] = 0xFF;
            bytes[11] = 0xFF;
            address.TryWriteBytes(bytes[12..], out _);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
            bytes[8..].Clear();
        }

        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Refused {Count} connection(s) over the limit of {Limit} per client (Edge:Limits:MaxConnectionsPerClient), the last from {Address}")]
    private static partial void ConnectionsRefused(ILogger logger, long count, int limit, string address);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Connection {ConnectionId} sent nothing within {Seconds} s (Edge:Limits:FirstRequestTimeoutSeconds); closed")]
    private static partial void Silent(ILogger logger, string connectionId, int seconds);
}
