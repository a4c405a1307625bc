using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Events;

/// <summary>
/// A real <see cref="ClientWebSocket"/> on the gateway's event stream that collects every message it receives, for
/// assertions. A client made with <c>read: false</c> does not read until <see cref="StartReading"/> (its socket's
/// receive buffer is small, so the server's sends to it stall soon), to play a subscriber that stopped reading.
/// </summary>
internal sealed class EventStreamClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly HttpMessageInvoker _invoker;
    private readonly List<JsonElement> _messages = [];
    private readonly Lock _gate = new();
    private Task? _receiving;

    private EventStreamClient(ClientWebSocket socket, HttpMessageInvoker invoker)
    {
        _socket = socket;
        _invoker = invoker;
    }

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseDescription => _socket.CloseStatusDescription;

    public string? SubProtocol => _socket.SubProtocol;

    public WebSocketState State => _socket.State;

    /// <summary>Whether the receive loop has ended (the server closed, or the connection broke).</summary>
    public bool IsClosed => _receiving is { IsCompleted: true };

    public IReadOnlyList<JsonElement> Messages
    {
        get
        {
            lock (_gate)
            {
                return [.. _messages];
            }
        }
    }

    public static Uri UriOf(GatewayHost gateway, string path = "/ws", string? query = null) =>
        new UriBuilder(gateway.Client.BaseAddress!) { Scheme = "ws", Path = path, Query = query ?? "" }.Uri;

    /// <summary>Connects and starts reading (unless <paramref name="read"/> is false).</summary>
    public static Task<EventStreamClient> ConnectAsync(
        GatewayHost gateway, Action<ClientWebSocketOptions>? configure = null, string path = "/ws", string? query = null, bool read = true) =>
        ConnectAsync(UriOf(gateway, path, query), configure, read);

    /// <summary>Connects to the event stream at <paramref name="uri"/> (a service in another process) and starts reading, unless <paramref name="read"/> is false.</summary>
    public static async Task<EventStreamClient> ConnectAsync(Uri uri, Action<ClientWebSocketOptions>? configure = null, bool read = true)
    {
        var (socket, invoker) = Create(configure, read ? null : 2048);
        try
        {
            await socket.ConnectAsync(uri, invoker, CancellationToken.None);
        }
        catch
        {
            socket.Dispose();
            invoker.Dispose();
            throw;
        }

        var client = new EventStreamClient(socket, invoker);
        if (read)
        {
            client.StartReading();
        }

        return client;
    }

    /// <summary>Tries to connect and returns the HTTP status the upgrade was refused with (101 when it was not).</summary>
    public static async Task<HttpStatusCode> RefusalAsync(GatewayHost gateway, Action<ClientWebSocketOptions>? configure = null, string? query = null)
    {
        var (socket, invoker) = Create(options =>
        {
            options.CollectHttpResponseDetails = true;
            configure?.Invoke(options);
        }, null);
        using (socket)
        using (invoker)
        {
            try
            {
                await socket.ConnectAsync(UriOf(gateway, query: query), invoker, CancellationToken.None);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
                return HttpStatusCode.SwitchingProtocols;
            }
            catch (WebSocketException)
            {
                return socket.HttpStatusCode;
            }
        }
    }

    public void StartReading() => _receiving ??= ReceiveAsync();

    public Task SendAsync(string json) => SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text);

    public Task SendAsync(byte[] message, WebSocketMessageType type) =>
        _socket.SendAsync(message, type, endOfMessage: true, CancellationToken.None);

    /// <summary>The messages of one type received so far.</summary>
    public List<JsonElement> OfType(string type) => [.. Messages.Where(m => TypeOf(m) == type)];

    /// <summary>Waits for the <paramref name="index"/>-th message of <paramref name="type"/> (matching <paramref name="where"/>).</summary>
    public async Task<JsonElement> NextAsync(string type, Func<JsonElement, bool>? where = null, int index = 0, int timeoutMs = 10_000)
    {
        List<JsonElement> Matching() => [.. OfType(type).Where(m => where is null || where(m))];
        await Eventually.TrueAsync(() => Matching().Count > index, $"message {index} of type '{type}' arrives", timeoutMs);
        return Matching()[index];
    }

    /// <summary>Waits until the server has closed the connection.</summary>
    public Task ClosedAsync(int timeoutMs = 10_000) => Eventually.TrueAsync(() => IsClosed, "the server closes the connection", timeoutMs);

    public static string? TypeOf(JsonElement message) => message.GetProperty("type").GetString();

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }

        _socket.Abort();
        if (_receiving is not null)
        {
            await _receiving;
        }

        _socket.Dispose();
        _invoker.Dispose();
    }

    private static (ClientWebSocket Socket, HttpMessageInvoker Invoker) Create(Action<ClientWebSocketOptions>? configure, int? receiveBufferBytes)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        configure?.Invoke(socket.Options);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                if (receiveBufferBytes is { } bytes)
                {
                    tcp.ReceiveBufferSize = bytes;
                }

                await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(tcp, ownsSocket: true);
            },
        };
        return (socket, new HttpMessageInvoker(handler));
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    var json = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
                    lock (_gate)
                    {
                        _messages.Add(json);
                    }

                    message.SetLength(0);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
