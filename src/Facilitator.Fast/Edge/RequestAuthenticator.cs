using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Facilitator.Fast.Edge;

/// <summary>The outcome of checking a request's credentials.</summary>
public readonly record struct AuthResult(AuthOutcome Outcome, string? ClientName, string? Problem, RouteGroup[]? Groups);

public enum AuthOutcome : byte
{
    /// <summary>No credentials were presented.</summary>
    Anonymous = 0,
    Authenticated,

    /// <summary>Credentials were presented and are not valid (unknown key, bad signature, expired...).</summary>
    Invalid,
}

/// <summary>
/// Checks API keys (SHA-256 of the presented key against each configured hash, in constant time, always comparing
/// all) and bearer JWTs (the configured algorithms only: <c>alg:none</c> and any other are refused; signature,
/// <c>exp</c>, <c>nbf</c>, <c>iss</c>, <c>aud</c> checked; a token with a <c>crit</c> header is refused, since no
/// extension is understood). An <c>X-Payment</c> header is not a credential. A request may carry one credential:
/// two API key headers or two <c>Authorization</c> headers are refused rather than one of them picked.
/// </summary>
public sealed class RequestAuthenticator
{
    private readonly AuthOptions _options;
    private readonly (string Name, byte[] Hash, RouteGroup[] Groups)[] _keys;
    private readonly TokenValidationParameters? _jwt;
    private readonly RouteGroup[] _jwtGroups;
    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = 8 * 1024 };

    public RequestAuthenticator(AuthOptions options, TimeProvider time)
    {
        _options = options;
        _keys = [.. options.ApiKeys.Select((k, i) => (k.Name, ParseHash(i, k.Sha256), ParseGroups($"Auth:ApiKeys:{i}:Groups", k.Groups)))];
        _jwtGroups = ParseGroups("Auth:Jwt:Groups", options.Jwt.Groups);
        _jwt = options.Jwt.IsConfigured ? Parameters(options.Jwt, time) : null;
    }

    public string ApiKeyHeader => _options.ApiKeyHeader;

    public async ValueTask<AuthResult> AuthenticateAsync(HttpRequest request)
    {
        var key = request.Headers[_options.ApiKeyHeader];
        if (key.Count > 0)
        {
            return key.Count == 1 ? CheckApiKey(key[0]!) : new AuthResult(AuthOutcome.Invalid, null, "more than one API key was sent", null);
        }

        var authorization = request.Headers.Authorization;
        if (authorization.Count == 0)
        {
            return default;
        }

        if (authorization.Count > 1)
        {
            return new AuthResult(AuthOutcome.Invalid, null, "more than one Authorization header was sent", null);
        }

        var value = authorization[0] ?? "";
        if (!value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || _jwt is null)
        {
            return new AuthResult(AuthOutcome.Invalid, null, "the Authorization header is not a bearer token this service accepts", null);
        }

        var token = value["Bearer ".Length..].Trim();
        if (HasCriticalHeader(token))
        {
            return new AuthResult(AuthOutcome.Invalid, null, "the token's header lists critical extensions (crit), and this service understands none", null);
        }

        var result = await _handler.ValidateTokenAsync(token, _jwt).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return new AuthResult(AuthOutcome.Invalid, null, Describe(result.Exception), null);
        }

        var subject = result.ClaimsIdentity.FindFirst("sub")?.Value;
        return new AuthResult(AuthOutcome.Authenticated, "jwt:" + (subject ?? "anonymous"), null, _jwtGroups);
    }

    /// <summary>
    /// The key under which failures of the request's credential are counted: the first 16 bytes of the SHA-256 of what
    /// was presented (the API key header, else <c>Authorization</c>), in hex, so the secret itself is never kept.
    /// Null when the request presents no credential.
    /// </summary>
    public string? CredentialKey(HttpRequest request)
    {
        var values = request.Headers[_options.ApiKeyHeader];
        var prefix = "key:";
        if (values.Count == 0)
        {
            values = request.Headers.Authorization;
            prefix = "authorization:";
        }

        if (values.Count == 0)
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(values.Count == 1 ? values[0] ?? "" : string.Join('\n', values.ToArray())), hash);
        return prefix + Convert.ToHexStringLower(hash[..16]);
    }

    /// <summary>
    /// Whether the token's JOSE header has a <c>crit</c> member. RFC 7515 §4.1.11: a recipient must reject a token whose
    /// <c>crit</c> lists an extension it does not understand, and this service understands none; the validating
    /// library does not check it. A header that cannot be read is left to the library, which refuses it.
    /// </summary>
    internal static bool HasCriticalHeader(ReadOnlySpan<char> token)
    {
        var dot = token.IndexOf('.');
        if (dot <= 0 || dot > 8192)
        {
            return false;
        }

        if (!Base64Url.IsValid(token[..dot], out var decodedLength))
        {
            return false;
        }

        Span<byte> header = stackalloc byte[decodedLength];
        if (!Base64Url.TryDecodeFromChars(token[..dot], header, out var length))
        {
            return false;
        }

        var reader = new Utf8JsonReader(header[..length]);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("crit"u8))
                {
                    return true;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    private AuthResult CheckApiKey(string presented)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        string? name = null;
        RouteGroup[]? groups = null;
        foreach (var key in _keys)
        {
            // Every configured key is compared, so the time taken says nothing about which one matched.
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                name = key.Name;
                groups = key.Groups;
            }
        }

        return name is null
            ? new AuthResult(AuthOutcome.Invalid, null, "the API key is not valid", null)
            : new AuthResult(AuthOutcome.Authenticated, name, null, groups);
    }

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "the token has expired",
        SecurityTokenInvalidLifetimeException => "the token has expired, is not valid yet, or has no expiry",
        SecurityTokenNotYetValidException => "the token is not valid yet",
        SecurityTokenInvalidIssuerException => "the token's issuer is not accepted",
        SecurityTokenInvalidAudienceException => "the token's audience is not accepted",
        SecurityTokenInvalidAlgorithmException => "the token's algorithm is not accepted",
        SecurityTokenNoExpirationException => "the token has no expiry",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "the token's signature is not valid",
        _ => "the token is not valid",
    };

    private static TokenValidationParameters Parameters(AuthOptions.JwtOptions jwt, TimeProvider time)
    {
        // A token signed with the right key but meant for another service must not pass.
        if (string.IsNullOrWhiteSpace(jwt.Issuer) || string.IsNullOrWhiteSpace(jwt.Audience))
        {
            throw new InvalidSettingException("Auth:Jwt:Issuer and Auth:Jwt:Audience", "are required when a JWT key is configured.");
        }

        var keys = new List<SecurityKey>();
        var algorithms = new List<string>();
        if (!string.IsNullOrEmpty(jwt.HmacSecret))
        {
            var secret = Encoding.UTF8.GetBytes(jwt.HmacSecret);
            if (secret.Length < 32)
            {
                throw new InvalidSettingException("Auth:Jwt:HmacSecret", "must be at least 32 bytes.");
            }

            keys.Add(new SymmetricSecurityKey(secret));
            algorithms.Add(SecurityAlgorithms.HmacSha256);
        }

        if (!string.IsNullOrEmpty(jwt.Es256PublicKeyPem))
        {
            keys.Add(new ECDsaSecurityKey(ImportEs256PublicKey(jwt.Es256PublicKeyPem)));
            algorithms.Add(SecurityAlgorithms.EcdsaSha256);
        }

        return new TokenValidationParameters
        {
            IssuerSigningKeys = keys,
            ValidAlgorithms = algorithms,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ValidateIssuer = jwt.Issuer is not null,
            ValidIssuer = jwt.Issuer,
            ValidateAudience = jwt.Audience is not null,
            ValidAudience = jwt.Audience,
            ClockSkew = TimeSpan.FromSeconds(jwt.ClockSkewSeconds),
            LifetimeValidator = (notBefore, expires, _, parameters) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return (notBefore is null || notBefore.Value - parameters.ClockSkew <= now)
                    && expires is not null && now <= expires.Value + parameters.ClockSkew;
            },
        };
    }

    /// <summary>
    /// The ES256 verification key: a PEM <c>PUBLIC KEY</c> on P-256. An RSA key, another curve, a private key or text
    /// that is no PEM stops the start naming the setting (the key itself is never echoed).
    /// </summary>
    private static ECDsa ImportEs256PublicKey(string pem)
    {
        const string Setting = "Auth:Jwt:Es256PublicKeyPem";
        if (!PemEncoding.TryFind(pem, out var fields) || !pem.AsSpan()[fields.Label].SequenceEqual("PUBLIC KEY"))
        {
            throw new InvalidSettingException(Setting, "must be a PEM public key (-----BEGIN PUBLIC KEY-----) on the P-256 curve.");
        }

        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);
            var curve = ecdsa.ExportParameters(includePrivateParameters: false).Curve;
            if (curve.IsNamed && (curve.Oid.Value == "1.2.840.10045.3.1.7" || curve.Oid.FriendlyName is "nistP256" or "ECDSA_P256" or "secp256r1"))
            {
                return ecdsa;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
        }

        ecdsa.Dispose();
        throw new InvalidSettingException(Setting, "is not an EC public key on the P-256 curve (ES256); an RSA key or another curve cannot verify ES256 tokens.");
    }

    private static byte[] ParseHash(int index, string hex)
    {
        try
        {
            var hash = Convert.FromHexString(hex.Trim());
            if (hash.Length == 32)
            {
                return hash;
            }
        }
        catch (FormatException)
        {
        }

        throw new InvalidSettingException($"Auth:ApiKeys:{index}:Sha256", "must be the 64 hex digits of the key's SHA-256.");
    }

    private static RouteGroup[] ParseGroups(string setting, List<string> names) =>
    [
        .. names.Select(name => RouteGroups.TryParse(name, out var group)
            ? group
            : throw new InvalidSettingException(setting, $"'{name}' is not one of x402, api, v1, health.")),
    ];
}
