using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// Requests written byte for byte on a socket of their own, for what HttpClient will not send: repeated header lines,
/// broken chunked bodies. Each request asks the server to close the connection, and the whole answer is read.
/// </summary>
internal static class RawHttp
{
    /// <summary>An answer's status code and body (the text after the blank line); status 0 when the server closed without one.</summary>
    public sealed record Answer(int Status, string Head, string Body);

    /// <summary>Sends <paramref name="head"/> (the request line and headers, each ending in CRLF, without the blank line) and <paramref name="body"/>.</summary>
    public static async Task<Answer> SendAsync(Uri server, string head, string body = "", IPAddress? from = null)
    {
        using var client = new TcpClient(from is null ? AddressFamily.InterNetwork : from.AddressFamily);
        if (from is not null)
        {
            client.Client.Bind(new IPEndPoint(from, 0));
        }

        await client.ConnectAsync(server.Host, server.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head + "Connection: close\r\n\r\n" + body));
        using var read = new MemoryStream();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await stream.CopyToAsync(read, deadline.Token);
        }
        catch (IOException)
        {
            // A reset after the answer was written: what was read is the answer.
        }

        var text = Encoding.UTF8.GetString(read.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var headPart = split < 0 ? text : text[..split];
        var status = headPart.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(headPart.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture) : 0;
        return new Answer(status, headPart, split < 0 ? "" : Dechunk(headPart, text[(split + 4)..]));
    }

    private static string Dechunk(string head, string body)
    {
        if (!head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            return body;
        }

        var result = new StringBuilder();
        var position = 0;
        while (position < body.Length)
        {
            var end = body.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(body[position..end], 16);
            if (size == 0)
            {
                break;
            }

            result.Append(body, end + 2, size);
            position = end + 2 + size + 2;
        }

        return result.ToString();
    }
}
