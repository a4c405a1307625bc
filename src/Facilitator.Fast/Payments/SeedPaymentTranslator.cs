using System.Numerics;
using System.Text;
using System.Text.Json;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Payments;

/// <summary>
/// Turns the seed's <c>/v1/verify</c> body <c>{proof, requirements}</c> into the x402 v2 request that the official
/// client would have sent for the same EIP-3009 authorization, so that the same local verification and the same
/// upstream facilitators judge both shapes, and nothing about the seed's shape reaches an upstream.
/// </summary>
/// <remarks>
/// <para>Checks run in the order the seed's server would meet them, each answering with the seed's code: the shape
/// (<c>VALIDATION_ERROR</c>, every field at once, as zod reports), a scheme other than <c>exact</c>
/// (<c>NOT_IMPLEMENTED</c>: nothing else can be settled), a network or required asset outside the known-asset table
/// (<c>UNSUPPORTED_NETWORK</c>), amounts finer than the token (<c>VALIDATION_ERROR</c>), a proof for another network,
/// asset or payee (<c>REQUIREMENTS_NOT_MET</c>), then a signed amount below the required one
/// (<c>INSUFFICIENT_AMOUNT</c>).</para>
/// <para>What needs the signature or the clock — who signed, expiry, not-yet-valid — is left to local verification of
/// the translated request (<see cref="PaymentProblem.ForLocalCheck"/> maps its verdict to the seed's codes).</para>
/// </remarks>
internal static class SeedPaymentTranslator
{
    /// <summary><c>paymentPayload.resource.url</c> when the requirements name no resource (x402 requires a non-empty url).</summary>
    public const string PlaceholderResource = "urn:facilitator-fast:v1-verify";

    /// <summary><c>maxTimeoutSeconds</c> when the requirements give no <c>maxAge</c>.</summary>
    public const long DefaultMaxTimeoutSeconds = 60;

    /// <summary>Translates the raw JSON bytes of a seed-shape body; never throws for any input.</summary>
    public static SeedTranslation Translate(ReadOnlySpan<byte> body)
    {
        var errors = new List<ApiErrorWriter.FieldError>();
        var seed = SeedRequestReader.Read(body, errors);
        var forms = SeedFieldForms.Check(seed, errors);
        if (errors.Count > 0)
        {
            return Fail(SeedErrorCodes.ValidationError, "The body is not a valid payment {proof, requirements}.", errors);
        }

        if (seed.ProofScheme != "exact" || seed.RequiredScheme != "exact")
        {
            NotExact(seed.ProofScheme!, "proof.scheme", errors);
            NotExact(seed.RequiredScheme!, "requirements.scheme", errors);
            return Fail(SeedErrorCodes.NotImplemented, "Only the 'exact' scheme is implemented.", errors);
        }

        var network = seed.RequiredNetwork!;
        if (!EvmNetworks.TryGetCaip2ChainId(Encoding.UTF8.GetBytes(network), out _) || !KnownAssets.ListsNetwork(network))
        {
            errors.Add(new("requirements.network", UnsupportedNetwork(network)));
            return Fail(SeedErrorCodes.UnsupportedNetwork, $"Network '{network}' is not supported.", errors);
        }

        var asset = KnownAssets.Find(network, seed.RequiredAsset!);
        if (asset is null)
        {
            errors.Add(new("requirements.asset", $"'{seed.RequiredAsset}' is not a known EIP-3009 token on {network}"));
            return Fail(SeedErrorCodes.UnsupportedNetwork, $"Asset '{seed.RequiredAsset}' is not supported on {network}.", errors);
        }

        var atomic = Atomic(seed.Amount!, asset, "proof.payload.amount", errors);
        var required = Atomic(seed.RequiredAmount!, asset, "requirements.amount", errors);
        if (errors.Count > 0)
        {
            return Fail(SeedErrorCodes.ValidationError, "An amount is not expressible in the token's units.", errors);
        }

        CheckRequirementsMet(seed, asset, forms, errors);
        if (errors.Count > 0)
        {
            return Fail(SeedErrorCodes.RequirementsNotMet, "The proof does not meet the requirements.", errors);
        }

        if (atomic < required)
        {
            errors.Add(new("proof.payload.amount", $"'{seed.Amount}' is below the required '{seed.RequiredAmount}'"));
            return Fail(SeedErrorCodes.InsufficientAmount, "The signed amount is below the required amount.", errors);
        }

        var payment = Payment(seed, asset, forms, atomic, required);
        return SeedTranslation.Success(SeedX402Writer.Write(payment), payment);
    }

    private static void NotExact(string scheme, string field, List<ApiErrorWriter.FieldError> errors)
    {
        if (scheme != "exact")
        {
            errors.Add(new(field, $"'{scheme}' cannot be settled; only 'exact' can"));
        }
    }

    /// <summary>An amount in the token's atomic units; a detail when it is finer than the token or beyond a uint256.</summary>
    private static BigInteger Atomic(string amount, KnownAsset asset, string field, List<ApiErrorWriter.FieldError> errors)
    {
        if (TokenAmount.TryParse(amount, asset.Decimals, out var atomic))
        {
            return atomic;
        }

        errors.Add(new(field, $"'{amount}' must have at most {asset.Decimals} decimals ({asset.Symbol}) and fit in a uint256"));
        return BigInteger.Zero;
    }

    private static void CheckRequirementsMet(SeedVerifyBody seed, KnownAsset asset, in SeedFieldForms forms, List<ApiErrorWriter.FieldError> errors)
    {
        if (seed.ProofNetwork != asset.Network)
        {
            errors.Add(new("proof.network", $"'{seed.ProofNetwork}' differs from requirements.network '{asset.Network}'"));
        }

        if (!ReferenceEquals(KnownAssets.Find(asset.Network, seed.Asset!), asset))
        {
            errors.Add(new("proof.payload.asset", $"'{seed.Asset}' is not requirements.asset '{seed.RequiredAsset}'"));
        }

        if (!forms.To.Equals(forms.PayTo))
        {
            errors.Add(new("proof.payload.to", $"'{seed.To}' differs from requirements.payTo '{seed.PayTo}'"));
        }
    }

    private static SeedPayment Payment(SeedVerifyBody seed, KnownAsset asset, in SeedFieldForms forms, BigInteger atomic, BigInteger required) => new(
        asset,
        Eip55.Format(forms.From),
        Eip55.Format(forms.PayTo),
        TokenAmount.Format(atomic, asset.Decimals),
        atomic,
        TokenAmount.Format(required, asset.Decimals),
        required,
        seed.Nonce!.ToLowerInvariant(),
        seed.ValidAfter ?? 0,
        seed.Deadline!.Value,
        seed.Signature!.ToLowerInvariant(),
        seed.MaxAge ?? DefaultMaxTimeoutSeconds,
        string.IsNullOrEmpty(seed.Resource) ? PlaceholderResource : seed.Resource,
        seed.Description);

    private static string UnsupportedNetwork(string network)
    {
        var caip2 = KnownAssets.Caip2Of(Encoding.UTF8.GetBytes(network));
        return caip2 != network && KnownAssets.ListsNetwork(caip2)
            ? $"'{network}' is not a CAIP-2 id; use '{caip2}'"
            : $"'{network}' is not a CAIP-2 eip155 network with known assets";
    }

    private static SeedTranslation Fail(string code, string message, List<ApiErrorWriter.FieldError> details) =>
        SeedTranslation.Failure(PaymentProblem.Of(code, message, details));
}
