using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Packaging;

/// <summary>
/// The attacks on the edge that the hostile-input test adds to its flood: silent sockets, chunk sizes that overflow,
/// two Authorization headers, tokens with <c>crit</c>, and wrong API keys from one address followed by a valid one.
/// </summary>
internal static class HostileEdgeAttacks
{
    /// <summary>What became of silent sockets: closed within a second (over the per-client cap), closed later (the first-request timeout), still open.</summary>
    public sealed record SilentOutcome(int ClosedAtOnce, int ClosedLater, int StillOpen)
    {
        public override string ToString() => $"{ClosedAtOnce} closed at once, {ClosedLater} closed later, {StillOpen} still open";
    }

    /// <summary>Opens <paramref name="count"/> connections from <paramref name="from"/> that never send a byte, and waits up to <paramref name="within"/> for each to be closed.</summary>
    public static async Task<SilentOutcome> SilentSocketsAsync(int port, IPAddress from, int count, TimeSpan within)
    {
        var sockets = new List<TcpClient>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var socket = new TcpClient(AddressFamily.InterNetwork);
                socket.Client.Bind(new IPEndPoint(from, 0));
                await socket.ConnectAsync(IPAddress.Loopback, port);
                sockets.Add(socket);
            }

            var started = Stopwatch.StartNew();
            var closedAfter = await Task.WhenAll(sockets.Select(s => ClosedAfterAsync(s, within)));
            return new SilentOutcome(
                closedAfter.Count(t => t < TimeSpan.FromSeconds(1)),
                closedAfter.Count(t => t >= TimeSpan.FromSeconds(1) && t < within),
                closedAfter.Count(t => t >= within));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Chunked bodies whose chunk size overflows a 64-bit number, to <c>/verify</c> and <c>/settle</c>; the statuses answered.</summary>
    public static async Task<int[]> ChunkOverflowAsync(Uri server, string? apiKey, int count)
    {
        var statuses = new int[count];
        for (var i = 0; i < count; i++)
        {
            var key = apiKey is null ? "" : $"X-API-Key: {apiKey}\r\n";
            var answer = await RawHttp.SendAsync(
                server,
                $"POST {(i % 2 == 0 ? "/verify" : "/settle")} HTTP/1.1\r\nHost: {server.Authority}\r\n{key}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                "FFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n");
            statuses[i] = answer.Status;
        }

        return statuses;
    }

    /// <summary>A request with two Authorization headers (one of them a valid-looking token); the status answered.</summary>
    public static async Task<int> DuplicateAuthorizationAsync(Uri server, string path, string token, IPAddress from) =>
        (await RawHttp.SendAsync(
            server, $"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\nAuthorization: Bearer {token}\r\nAuthorization: Bearer other\r\n", "", from)).Status;

    /// <summary>Wrong API keys from <paramref name="from"/>, then the valid one from the same address; the statuses of the wrong ones and of the valid one.</summary>
    public static async Task<(int[] Wrong, int Valid)> WrongKeysThenValidAsync(Uri server, IPAddress from, string validKey, int wrong, string body)
    {
        var statuses = new int[wrong];
        for (var i = 0; i < wrong; i++)
        {
            statuses[i] = (await RawHttp.SendAsync(server, $"GET /api/facilitator-status?include=health HTTP/1.1\r\nHost: {server.Authority}\r\nX-API-Key: guess-{i}\r\n", "", from)).Status;
        }

        var valid = await RawHttp.SendAsync(
            server,
            $"POST /verify HTTP/1.1\r\nHost: {server.Authority}\r\nX-API-Key: {validKey}\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n",
            body,
            from);
        return (statuses, valid.Body.Contains("\"isValid\":true", StringComparison.Ordinal) ? valid.Status : -valid.Status);
    }

    /// <summary>An HS256 token signed with <paramref name="secret"/>, valid but for its <c>crit</c> header naming an extension nobody understands.</summary>
    public static string CritToken(string secret, string issuer, string audience)
    {
        static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var expires = DateTimeOffset.UtcNow.AddMinutes(30).ToUnixTimeSeconds();
        var header = Encode(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT","crit":["urn:example:unknown"],"urn:example:unknown":1}"""));
        var claims = Encode(Encoding.UTF8.GetBytes($$"""{"iss":"{{issuer}}","aud":"{{audience}}","exp":{{expires}},"sub":"attacker"}"""));
        return header + "." + claims + "." + Encode(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(header + "." + claims)));
    }

    private static async Task<TimeSpan> ClosedAfterAsync(TcpClient socket, TimeSpan within)
    {
        var started = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(within);
        try
        {
            var buffer = new byte[64];
            while (await socket.GetStream().ReadAsync(buffer, deadline.Token) > 0)
            {
            }
        }
        catch (OperationCanceledException)
        {
            return within;
        }
        catch (IOException)
        {
        }

        return started.Elapsed;
    }
}
