using System.Net;

namespace Facilitator.Fast.Edge;

/// <summary>
/// Sets the client address from <c>Forwarded</c> (RFC 7239) or <c>X-Forwarded-For</c>, but only when the connection
/// comes from a configured trusted proxy, and only as far back along the chain as the hops are trusted: the client is
/// the first address, from the right, that a trusted hop reported and that is not itself a trusted proxy.
/// </summary>
public sealed class TrustedProxyForwarding
{
    private readonly IPNetwork[] _trusted;
    private readonly bool _rfc7239;

    public TrustedProxyForwarding(IReadOnlyList<string> trusted, string header = "X-Forwarded-For")
    {
        _rfc7239 = header.Equals("Forwarded", StringComparison.OrdinalIgnoreCase);
        if (!_rfc7239 && !header.Equals("X-Forwarded-For", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidSettingException("Edge:ForwardedHeader", "must be X-Forwarded-For or Forwarded.");
        }

        _trusted = new IPNetwork[trusted.Count];
        for (var i = 0; i < trusted.Count; i++)
        {
            var text = trusted[i].Trim();
            if (IPNetwork.TryParse(text, out var network))
            {
                _trusted[i] = network;
            }
            else if (IPAddress.TryParse(text, out var address))
            {
                _trusted[i] = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            }
            else
            {
                throw new InvalidSettingException($"Edge:TrustedProxies:{i}", $"'{text}' is not an IP address or CIDR network.");
            }
        }
    }

    /// <summary>Marks a request whose client address was read from a trusted proxy's forwarded header.</summary>
    private const string ResolvedItem = "facilitator.forwarded";

    public bool IsEnabled => _trusted.Length > 0;

    /// <summary>Whether the request came through a trusted proxy, so its forwarded headers were read (and its client address is theirs).</summary>
    public static bool WasResolved(HttpContext context) => context.Items.ContainsKey(ResolvedItem);

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var connection = context.Connection;
        if (connection.RemoteIpAddress is { } peer && IsTrusted(peer))
        {
            var chain = _rfc7239 ? ForwardedFor(context.Request.Headers) : XForwardedFor(context.Request.Headers);
            var client = peer;
            for (var i = chain.Count - 1; i >= 0 && IsTrusted(client); i--)
            {
                if (!IPAddress.TryParse(chain[i], out var hop))
                {
                    break;
                }

                client = hop;
            }

            connection.RemoteIpAddress = client;
            context.Items[ResolvedItem] = true;
        }

        return next(context);
    }

    /// <summary>Whether <paramref name="address"/> is one of the configured trusted proxies.</summary>
    public bool IsTrusted(IPAddress address)
    {
        var normalized = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var network in _trusted)
        {
            if (network.Contains(normalized))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The <c>for=</c> addresses of <c>Forwarded</c>, left to right.</summary>
    private static List<string> ForwardedFor(IHeaderDictionary headers)
    {
        var addresses = new List<string>();
        foreach (var element in string.Join(',', headers["Forwarded"].ToArray()).Split(','))
        {
            foreach (var pair in element.Split(';'))
            {
                var parts = pair.Split('=', 2, StringSplitOptions.TrimEntries);
                if (parts.Length == 2 && parts[0].Equals("for", StringComparison.OrdinalIgnoreCase))
                {
                    addresses.Add(StripPort(parts[1].Trim('"')));
                }
            }
        }

        return addresses;
    }

    /// <summary>The entries of <c>X-Forwarded-For</c>, left to right.</summary>
    private static List<string> XForwardedFor(IHeaderDictionary headers)
    {
        var addresses = new List<string>();
        foreach (var value in headers["X-Forwarded-For"])
        {
            foreach (var entry in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                addresses.Add(StripPort(entry));
            }
        }

        return addresses;
    }

    /// <summary><c>[2001:db8::1]:4711</c> → <c>2001:db8::1</c>; <c>192.0.2.1:80</c> → <c>192.0.2.1</c>.</summary>
    private static string StripPort(string value)
    {
        if (value.StartsWith('['))
        {
            var end = value.IndexOf(']', StringComparison.Ordinal);
            return end > 0 ? value[1..end] : value;
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && value.IndexOf(':', colon + 1) < 0 ? value[..colon] : value;
    }
}
