using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// Signs every request to Coinbase CDP's verify, settle and supported (discovery is public) with a fresh JWT, as
/// Coinbase's SDKs do: header <c>{"alg","kid","typ":"JWT","nonce"}</c>, claims <c>{"sub","iss":"cdp","uris",
/// "iat","nbf","exp"}</c>, sent as <c>Authorization: Bearer</c>.
/// </summary>
/// <remarks>
/// A token names one request (<c>uris</c> = <c>"METHOD host[:port]/path"</c> of the URL actually called, so a staging or
/// loopback CDP works too), carries a random 16-byte nonce and lives 120 s: it is never reused, and nothing that could
/// outlive its request is cached. The JSON is written by hand into one pooled buffer (the constant parts, with the
/// key id escaped once, are prepared at start), so a token costs its signature and one string.
/// </remarks>
public sealed class CdpRequestSigner : IUpstreamCredentials
{
    /// <summary>Every SDK's lifetime ("your JWT expires after 2 minutes").</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(120);

    /// <summary>Informational, like the SDKs' own (each sends different keys, so CDP cannot require them).</summary>
    public static readonly string CorrelationContext = $"sdk_language=csharp,source=facilitator-fast,source_version={ServiceVersion.Current}";

    private const int NonceBytes = 16;
    private static readonly byte[] Bearer = "Bearer "u8.ToArray();

    private readonly CdpApiKey _key;
    private readonly TimeProvider _time;
    private readonly byte[] _headerStart;
    private readonly byte[] _claimsStart;

    public CdpRequestSigner(CdpApiKey key, TimeProvider time)
    {
        _key = key;
        _time = time;
        var kid = JsonEncodedText.Encode(key.KeyId).EncodedUtf8Bytes;
        _headerStart = [.. "{\"alg\":\""u8, .. Encoding.ASCII.GetBytes(key.Algorithm), .. "\",\"kid\":\""u8, .. kid, .. "\",\"typ\":\"JWT\",\"nonce\":\""u8];
        _claimsStart = [.. "{\"sub\":\""u8, .. kid, .. "\",\"iss\":\"cdp\",\"uris\":[\""u8];
        Kind = key.Algorithm == "ES256" ? "coinbase-cdp (ES256)" : "coinbase-cdp (EdDSA)";
    }

    public string Kind { get; }

    public bool Apply(HttpRequestMessage request, FacilitatorOperation operation)
    {
        if (operation == FacilitatorOperation.Discovery)
        {
            return false;
        }

        request.Headers.TryAddWithoutValidation("Authorization", Authorization(request.Method, request.RequestUri!));
        request.Headers.TryAddWithoutValidation("Correlation-Context", CorrelationContext);
        return true;
    }

    /// <summary>
    /// The <c>uris</c> entry of a request: upper-case method, one space, host (with <c>:port</c> only when not the
    /// scheme's default), path (no query, no trailing slash).
    /// </summary>
    public static string RequestUri(HttpMethod method, Uri uri)
    {
        var path = uri.AbsolutePath;
        if (path.Length > 1 && path.EndsWith('/'))
        {
            path = path.TrimEnd('/');
        }

        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        return uri.IsDefaultPort
            ? $"{method.Method.ToUpperInvariant()} {host}{path}"
            : $"{method.Method.ToUpperInvariant()} {host}:{uri.Port}{path}";
    }

    /// <summary>The <c>Authorization</c> value of one request: <c>Bearer</c> and a token made now for it alone.</summary>
    public string Authorization(HttpMethod method, Uri uri)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var target = RequestUri(method, uri);
        var escaped = NeedsEscaping(target) ? JsonEncodedText.Encode(target).EncodedUtf8Bytes.ToArray() : null;
        var targetLength = escaped?.Length ?? target.Length;

        var headerLength = _headerStart.Length + (NonceBytes * 2) + 2;
        var claimsLength = _claimsStart.Length + targetLength + 100;
        var jsonBuffer = ArrayPool<byte>.Shared.Rent(headerLength + claimsLength);
        var tokenBuffer = ArrayPool<byte>.Shared.Rent(Bearer.Length + Base64Url.GetEncodedLength(headerLength) + Base64Url.GetEncodedLength(claimsLength) + 100);
        try
        {
            var header = jsonBuffer.AsSpan(0, WriteHeader(jsonBuffer));
            var claims = jsonBuffer.AsSpan(header.Length, WriteClaims(jsonBuffer.AsSpan(header.Length), target, escaped, now));

            var token = tokenBuffer.AsSpan();
            Bearer.CopyTo(token);
            var at = Bearer.Length;
            at += Base64Url.EncodeToUtf8(header, token[at..]);
            token[at++] = (byte)'.';
            at += Base64Url.EncodeToUtf8(claims, token[at..]);

            Span<byte> signature = stackalloc byte[CdpApiKey.SignatureLength];
            _key.Sign(token[Bearer.Length..at], signature);
            token[at++] = (byte)'.';
            at += Base64Url.EncodeToUtf8(signature, token[at..]);
            return Encoding.ASCII.GetString(token[..at]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(jsonBuffer);
            ArrayPool<byte>.Shared.Return(tokenBuffer);
        }
    }

    private int WriteHeader(Span<byte> destination)
    {
        _headerStart.CopyTo(destination);
        var at = _headerStart.Length;
        Span<byte> nonce = stackalloc byte[NonceBytes];
        RandomNumberGenerator.Fill(nonce);
        foreach (var b in nonce)
        {
            destination[at++] = (byte)"0123456789abcdef"[b >> 4];
            destination[at++] = (byte)"0123456789abcdef"[b & 0xF];
        }

        destination[at++] = (byte)'"';
        destination[at++] = (byte)'}';
        return at;
    }

    private int WriteClaims(Span<byte> destination, string target, byte[]? escaped, long now)
    {
        _claimsStart.CopyTo(destination);
        var at = _claimsStart.Length;
        at += escaped is null ? Encoding.ASCII.GetBytes(target, destination[at..]) : Copy(escaped, destination[at..]);
        at += Copy("\"],\"iat\":"u8, destination[at..]);
        at += Number(now, destination[at..]);
        at += Copy(",\"nbf\":"u8, destination[at..]);
        at += Number(now, destination[at..]);
        at += Copy(",\"exp\":"u8, destination[at..]);
        at += Number(now + (long)Lifetime.TotalSeconds, destination[at..]);
        destination[at++] = (byte)'}';
        return at;
    }

    /// <summary>Whether a <c>uris</c> entry needs JSON escaping; a parsed URL's host and path never do, but no assumption is made.</summary>
    private static bool NeedsEscaping(string text)
    {
        foreach (var c in text)
        {
            if (c is < ' ' or > '~' or '"' or '\\')
            {
                return true;
            }
        }

        return false;
    }

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }

    private static int Number(long value, Span<byte> destination) =>
        Utf8Formatter.TryFormat(value, destination, out var written) ? written : throw new InvalidOperationException("no room for a number");
}
