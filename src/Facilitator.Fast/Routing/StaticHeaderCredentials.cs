using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Routing;

/// <summary>
/// A fixed secret sent in one header on every request to an upstream: a bearer token (<c>Authorization: Bearer</c>) or
/// an API key in a header of the upstream's choosing. For facilitators that authenticate their callers so.
/// </summary>
public sealed class StaticHeaderCredentials : IUpstreamCredentials
{
    public const string BearerKind = "bearer";
    public const string ApiKeyKind = "api-key";

    private readonly string _header;
    private readonly string _value;
    private readonly string _secret;

    private StaticHeaderCredentials(string kind, string header, string value, string secret)
    {
        Kind = kind;
        _header = header;
        _value = value;
        _secret = secret;
    }

    public string Kind { get; }

    /// <summary>The header's name, which the status API may show (its value never).</summary>
    public string HeaderName => _header;

    public static StaticHeaderCredentials BearerToken(string token) => new(BearerKind, "Authorization", "Bearer " + token, token);

    public static StaticHeaderCredentials ApiKey(string header, string key) => new(ApiKeyKind, header, key, key);

    public string Redact(string text) => UpstreamErrorText.RedactValue(text, _secret);

    public bool Apply(HttpRequestMessage request, FacilitatorOperation operation)
    {
        request.Headers.Remove(_header);
        return request.Headers.TryAddWithoutValidation(_header, _value);
    }
}
