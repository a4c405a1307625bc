using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// Checks a CDP JWT the way CDP is documented to, with libraries independent of the gateway's signing code: IdentityModel
/// validates the issuer, the lifetime (no clock skew) and, for ES256, the signature; NSec (libsodium) the EdDSA
/// signature, which IdentityModel cannot. Then the CDP-specific parts: <c>alg</c> per key type, <c>kid</c> = <c>sub</c>,
/// <c>typ</c>, a 16-byte hex nonce never seen before, <c>nbf</c> = <c>iat</c>, <c>exp</c> = <c>iat</c> + 120, no
/// <c>aud</c>, and <c>uris</c> naming exactly the request the token arrived on.
/// </summary>
internal static class CdpJwtValidator
{
    /// <summary>Null when the token is good for <paramref name="expectedUri"/>, else why not.</summary>
    public static async Task<string?> ValidateAsync(string? authorization, string expectedUri, CdpTestKey key, HashSet<string> seenNonces)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return "no bearer token";
        }

        var token = authorization["Bearer ".Length..];
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = "cdp",
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.Zero,
            ValidAlgorithms = [key.Algorithm],
            IssuerSigningKey = key.IdentityModelKey,
        };
        if (key.Algorithm == "EdDSA")
        {
            parameters.SignatureValidator = (text, _) =>
            {
                var parts = text.Split('.');
                return key.VerifyEd25519(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url.DecodeFromChars(parts[2]))
                    ? new JsonWebToken(text)
                    : throw new SecurityTokenInvalidSignatureException("EdDSA signature does not verify with the key's public key (NSec)");
            };
        }

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, parameters);
        if (!result.IsValid)
        {
            return $"{result.Exception?.GetType().Name}: {result.Exception?.Message}";
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        var header = JsonDocument.Parse(Base64Url.DecodeFromChars(jwt.EncodedHeader)).RootElement;
        var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(jwt.EncodedPayload)).RootElement;
        var nonce = header.TryGetProperty("nonce", out var n) ? n.GetString() ?? "" : "";
        var uris = claims.TryGetProperty("uris", out var u) && u.ValueKind == JsonValueKind.Array ? u.EnumerateArray().Select(static e => e.GetString()).ToArray() : [];
        var iat = claims.GetProperty("iat").GetInt64();

        string? problem =
            jwt.Alg != key.Algorithm ? $"alg {jwt.Alg}, expected {key.Algorithm}"
            : jwt.Kid != key.KeyId ? "kid is not the key's id"
            : jwt.Typ != "JWT" ? $"typ {jwt.Typ}"
            : jwt.Subject != key.KeyId ? "sub is not the key's id"
            : nonce.Length != 32 || !nonce.All(static c => c is >= '0' and <= '9' or >= 'a' and <= 'f') ? "nonce is not 16 bytes of lowercase hex"
            : claims.TryGetProperty("aud", out _) ? "aud is sent"
            : claims.GetProperty("nbf").GetInt64() != iat ? "nbf is not iat"
            : claims.GetProperty("exp").GetInt64() != iat + 120 ? "exp is not iat + 120"
            : uris.Length != 1 || uris[0] != expectedUri ? $"uris [{string.Join(", ", uris)}] do not name {expectedUri}"
            : null;
        if (problem is null)
        {
            lock (seenNonces)
            {
                problem = seenNonces.Add(nonce) ? null : "nonce replayed";
            }
        }

        return problem;
    }
}
