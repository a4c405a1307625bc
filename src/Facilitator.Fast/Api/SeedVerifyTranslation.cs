using Facilitator.Fast.Payments;

namespace Facilitator.Fast.Api;

/// <summary>A seed-shape verify body as the x402 request it stands for, or why it cannot be one.</summary>
internal readonly record struct SeedTranslated(ReadOnlyMemory<byte> Request, PaymentProblem? Problem);

/// <summary>Turns the seed's <c>{proof, requirements}</c> into an x402 v2 request.</summary>
internal static class SeedVerifyTranslation
{
    public static SeedTranslated Translate(ReadOnlySpan<byte> body, IServiceProvider services) =>
        new(default, new PaymentProblem(501, PaymentProblem.NotImplemented, "The seed's verify shape is being translated."));
}
