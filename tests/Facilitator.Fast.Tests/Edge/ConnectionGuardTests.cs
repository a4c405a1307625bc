using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Facilitator.Fast.Tests.Edge;

/// <summary>Connections bounded per client: silent sockets closed after the first-request timeout, a cap per address, trusted proxies exempt.</summary>
public sealed class ConnectionGuardTests
{
    private static readonly IPAddress Other = IPAddress.Parse("127.0.0.2");

    private static async Task<(GatewayHost Gateway, FakeFacilitator Upstream)> StartAsync(int firstRequestSeconds, int maxPerClient, bool trustLoopback = false)
    {
        var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Edge:Limits:FirstRequestTimeoutSeconds"] = firstRequestSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Edge:Limits:MaxConnectionsPerClient"] = maxPerClient.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (trustLoopback)
        {
            settings["Edge:TrustedProxies:0"] = "127.0.0.1";
        }

        return (await GatewayHost.StartAsync(settings), upstream);
    }

    private static async Task<TcpClient> ConnectAsync(GatewayHost gateway, IPAddress? from = null)
    {
        var client = new TcpClient(AddressFamily.InterNetwork);
        client.Client.Bind(new IPEndPoint(from ?? IPAddress.Loopback, 0));
        await client.ConnectAsync(IPAddress.Loopback, gateway.Client.BaseAddress!.Port);
        return client;
    }

    /// <summary>Reads until the server closes the connection; the time it took, or null when it stayed open for <paramref name="within"/>.</summary>
    private static async Task<TimeSpan?> ClosedWithinAsync(TcpClient client, TimeSpan within)
    {
        var started = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(within);
        try
        {
            var buffer = new byte[256];
            while (await client.GetStream().ReadAsync(buffer, deadline.Token) > 0)
            {
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (IOException)
        {
        }

        return started.Elapsed;
    }

    private static async Task<string> GetHealthAsync(TcpClient client, GatewayHost gateway)
    {
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /health/live HTTP/1.1\r\nHost: {gateway.Client.BaseAddress!.Authority}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadLineAsync() ?? "";
    }

    [Fact]
    public async Task Connection_SendsNothing_ClosedAfterTheFirstRequestTimeout()
    {
        var (gateway, upstream) = await StartAsync(firstRequestSeconds: 1, maxPerClient: 64);
        await using var _ = gateway;
        await using var __ = upstream;
        using var silent = await ConnectAsync(gateway);

        var closedAfter = await ClosedWithinAsync(silent, TimeSpan.FromSeconds(10));

        Assert.NotNull(closedAfter);
        Assert.True(closedAfter >= TimeSpan.FromMilliseconds(900), $"closed after {closedAfter}");
    }

    [Fact]
    public async Task Connections_ResetBeforeOrDuringTheirFirstRequest_ForgottenWithoutAnErrorLogged()
    {
        using var logs = new CapturedLogs();
        await using var upstream = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("only", upstream.Url));
        settings["Edge:Limits:MaxConnectionsPerClient"] = "8";
        await using var gateway = await GatewayHost.StartAsync(settings, logs: logs);

        for (var i = 0; i < 24; i++)
        {
            using var reset = await ConnectAsync(gateway);
            if (i % 3 == 1)
            {
                await reset.GetStream().WriteAsync("GET /health/live HTTP/1.1\r\n"u8.ToArray());
            }
            else if (i % 3 == 2)
            {
                await reset.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
            }

            reset.LingerState = new LingerOption(true, 0);
            reset.Close();
        }

        // Every reset connection's place under the per-client cap is given back: eight new ones are all served.
        await Eventually.TrueAsync(
            async () =>
            {
                var clients = new List<TcpClient>();
                try
                {
                    for (var i = 0; i < 8; i++)
                    {
                        clients.Add(await ConnectAsync(gateway));
                    }

                    var answers = await Task.WhenAll(clients.Select(c => GetHealthAsync(c, gateway)));
                    return answers.All(a => a == "HTTP/1.1 200 OK");
                }
                catch (IOException)
                {
                    return false;
                }
                finally
                {
                    clients.ForEach(c => c.Dispose());
                }
            },
            "the reset connections were forgotten");

        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task Connection_FirstRequestAfterAPause_ServedWithItsBytesIntact()
    {
        var (gateway, upstream) = await StartAsync(firstRequestSeconds: 3, maxPerClient: 64);
        await using var _ = gateway;
        await using var __ = upstream;
        using var client = await ConnectAsync(gateway);
        await Task.Delay(300);

        Assert.Equal("HTTP/1.1 200 OK", await GetHealthAsync(client, gateway));
    }

    [Fact]
    public async Task Connections_BeyondThePerClientCap_ClosedAtOnceWhileOthersAreServed()
    {
        var (gateway, upstream) = await StartAsync(firstRequestSeconds: 60, maxPerClient: 4);
        await using var _ = gateway;
        await using var __ = upstream;
        var sockets = new List<TcpClient>();
        for (var i = 0; i < 5; i++)
        {
            sockets.Add(await ConnectAsync(gateway));
        }

        // Which of the five the server accepted last is its business: exactly one is closed at once, four stay open.
        var closed = await Task.WhenAll(sockets.Select(s => ClosedWithinAsync(s, TimeSpan.FromSeconds(3))));
        using var fromElsewhere = await ConnectAsync(gateway, Other);
        var otherAnswer = await GetHealthAsync(fromElsewhere, gateway);
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }

        Assert.Equal(1, closed.Count(c => c is not null));
        Assert.Equal("HTTP/1.1 200 OK", otherAnswer);
        await Eventually.TrueAsync(
            async () =>
            {
                using var again = await ConnectAsync(gateway);
                return await GetHealthAsync(again, gateway) == "HTTP/1.1 200 OK";
            },
            "the address's closed connections are released");
    }

    [Fact]
    public async Task Connections_FromATrustedProxy_NotCapped()
    {
        var (gateway, upstream) = await StartAsync(firstRequestSeconds: 60, maxPerClient: 2, trustLoopback: true);
        await using var _ = gateway;
        await using var __ = upstream;
        var held = new List<TcpClient>();
        for (var i = 0; i < 5; i++)
        {
            held.Add(await ConnectAsync(gateway));
        }

        using var client = await ConnectAsync(gateway);
        var answer = await GetHealthAsync(client, gateway);
        foreach (var open in held)
        {
            open.Dispose();
        }

        Assert.Equal("HTTP/1.1 200 OK", answer);
    }

    [Theory]
    [InlineData("2001:db8:1:2:aaaa::1", "2001:db8:1:2:bbbb::9", true)]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7", true)]
    [InlineData("203.0.113.7", "203.0.113.8", false)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    public void KeyOf_SameClient_SameKey(string first, string second, bool same) =>
        Assert.Equal(same, ConnectionGuard.KeyOf(IPAddress.Parse(first)) == ConnectionGuard.KeyOf(IPAddress.Parse(second)));
}
