using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;
using static Facilitator.Fast.Tests.Infrastructure.Responses;

namespace Facilitator.Fast.Tests.Routing;

/// <summary>
/// A hedged verify whose body is larger than the socket buffers: the primary is still being sent the body when the
/// hedge wins and it is cancelled, and the gateway reuses pooled buffers for the next requests meanwhile. The primary
/// must only ever receive bytes of the request it was sent.
/// </summary>
public sealed class HedgedBodyTests
{
    [Fact]
    public async Task Verify_HedgeWinsWhileThePrimaryStillReceivesALargeBody_PrimaryReceivesOnlyItsOwnBytes()
    {
        using var primary = new SlowReadingUpstream();
        await using var secondary = await FakeFacilitator.StartAsync();
        var settings = GatewayHost.Upstreams(("primary", primary.Url), ("secondary", secondary.Url));
        settings["Aggregator:HedgeMinDelayMs"] = "50";
        settings["Aggregator:HedgeMaxDelayMs"] = "50";
        settings["Aggregator:MaxRequestBodyBytes"] = (12 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Aggregator:ExtraRequestMinimum"] = "100";
        await using var gateway = await GatewayHost.StartAsync(settings);
        var bodies = "abcd".Select(static fill => TestPayments.V2.Replace(
            "\"extensions\":{", "\"extensions\":{\"padding\":\"" + new string(fill, 10 * 1024 * 1024) + "\",", StringComparison.Ordinal)).ToArray();

        foreach (var body in bodies)
        {
            using var response = await gateway.PostAsync("/verify", body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("secondary", Header(response, "X-Facilitator-Upstream"));
        }

        await Eventually.TrueAsync(() => primary.Finished == bodies.Length, "the primary's cancelled requests end", timeoutMs: 30_000);
        Assert.Equal(bodies, secondary.Received.Where(static r => r.Path == "/verify").Select(static r => r.BodyText));
        var sent = bodies.Select(Encoding.UTF8.GetBytes).ToArray();
        foreach (var received in primary.Bodies)
        {
            Assert.True(
                sent.Any(body => body.AsSpan().StartsWith(received) && received.Length < body.Length),
                $"the primary received {received.Length} bytes that are not a prefix of a body it was being sent");
        }
    }

    /// <summary>Accepts connections, reads the request's body a little at a time and never answers: what it read is kept.</summary>
    private sealed class SlowReadingUpstream : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly ConcurrentQueue<byte[]> _bodies = new();
        private readonly CancellationTokenSource _stop = new();
        private int _finished;

        public SlowReadingUpstream()
        {
            _listener.Start();
            Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
            _ = AcceptAsync();
        }

        public string Url { get; }

        public IEnumerable<byte[]> Bodies => _bodies;

        public int Finished => Volatile.Read(ref _finished);

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                _ = ReadSlowlyAsync(client);
            }
        }

        private async Task ReadSlowlyAsync(TcpClient client)
        {
            using var _ = client;
            client.ReceiveBufferSize = 16 * 1024;
            var stream = client.GetStream();
            var received = new MemoryStream();
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var read = await stream.ReadAsync(buffer, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    received.Write(buffer, 0, read);
                    await Task.Delay(5, _stop.Token);
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
            {
            }

            var all = received.ToArray();
            var headerEnd = all.AsSpan().IndexOf("\r\n\r\n"u8);
            _bodies.Enqueue(headerEnd < 0 ? [] : all[(headerEnd + 4)..]);
            Interlocked.Increment(ref _finished);
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }
}
