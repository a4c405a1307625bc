using System.Text;
using Facilitator.Fast.Edge;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Payments;

/// <summary>
/// The form checks of a seed body's fields that need no table and no clock — scheme names, hex, addresses, amount
/// syntax, the validity window's coherence — and the addresses they parse. Each failure is a <c>VALIDATION_ERROR</c>
/// detail naming the field.
/// </summary>
internal readonly struct SeedFieldForms
{
    private static readonly string[] Schemes = ["exact", "upto", "stream"];

    public EvmAddress From { get; private init; }

    public EvmAddress To { get; private init; }

    public EvmAddress PayTo { get; private init; }

    public static SeedFieldForms Check(SeedVerifyBody seed, List<ApiErrorWriter.FieldError> errors)
    {
        Scheme(seed.ProofScheme, "proof.scheme", errors);
        Scheme(seed.RequiredScheme, "requirements.scheme", errors);
        Amount(seed.Amount, "proof.payload.amount", errors);
        Amount(seed.RequiredAmount, "requirements.amount", errors);
        var forms = new SeedFieldForms
        {
            From = Address(seed.From, "proof.payload.from", errors),
            To = Address(seed.To, "proof.payload.to", errors),
            PayTo = Address(seed.PayTo, "requirements.payTo", errors),
        };

        if (seed.Signature is { } signature
            && (!signature.StartsWith("0x", StringComparison.Ordinal) || HexBytes.DecodedLength(Encoding.UTF8.GetBytes(signature)) != 65))
        {
            errors.Add(new("proof.signature", "must be 0x and 65 bytes of hex (r, s, v): an EIP-3009 TransferWithAuthorization signature"));
        }

        if (seed.Nonce is { } nonce && (!nonce.StartsWith("0x", StringComparison.Ordinal) || !Bytes32.TryParse(Encoding.UTF8.GetBytes(nonce), out _)))
        {
            errors.Add(new("proof.payload.nonce", "must be 0x and 32 bytes of hex (a bytes32 nonce)"));
        }

        if (seed.Deadline is { } deadline)
        {
            if (seed.ValidBefore is { } validBefore && validBefore != deadline)
            {
                errors.Add(new("proof.payload.validBefore", "must equal deadline (the authorization's validBefore) when given"));
            }

            if (seed.ValidAfter is { } validAfter && validAfter >= deadline)
            {
                errors.Add(new("proof.payload.validAfter", "must be earlier than deadline"));
            }
        }

        if (seed.MaxAge == 0)
        {
            errors.Add(new("requirements.maxAge", "must be at least 1 second"));
        }

        return forms;
    }

    private static void Scheme(string? scheme, string field, List<ApiErrorWriter.FieldError> errors)
    {
        if (scheme is not null && Array.IndexOf(Schemes, scheme) < 0)
        {
            errors.Add(new(field, $"'{scheme}' is not one of 'exact', 'upto', 'stream'"));
        }
    }

    /// <summary>A non-negative decimal in token units (<c>"1"</c>, <c>"0.50"</c>); the token's precision is checked later.</summary>
    private static void Amount(string? amount, string field, List<ApiErrorWriter.FieldError> errors)
    {
        if (amount is null)
        {
            return;
        }

        var dot = amount.IndexOf('.');
        var whole = dot < 0 ? amount.AsSpan() : amount.AsSpan(0, dot);
        var fraction = dot < 0 ? "1".AsSpan() : amount.AsSpan(dot + 1);
        if (amount.Length > 100 || whole.IsEmpty || fraction.IsEmpty
            || whole.ContainsAnyExceptInRange('0', '9') || fraction.ContainsAnyExceptInRange('0', '9'))
        {
            errors.Add(new(field, $"'{amount}' is not a non-negative decimal amount in token units, such as '1.50'"));
        }
    }

    private static EvmAddress Address(string? text, string field, List<ApiErrorWriter.FieldError> errors)
    {
        if (text is null)
        {
            return default;
        }

        if (!text.StartsWith("0x", StringComparison.Ordinal) || !Eip55.TryParse(text, out var address, out var checksumValid))
        {
            errors.Add(new(field, $"'{text}' is not an address (0x and 20 bytes of hex)"));
            return default;
        }

        if (!checksumValid)
        {
            errors.Add(new(field, $"'{text}' has mixed case that is not its EIP-55 checksum"));
        }

        return address;
    }
}
