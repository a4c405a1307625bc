using System.Text;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Tests.Payments;

/// <summary>
/// Hostile bodies never make the translator throw: garbage, truncations and deep nesting are validation errors, and
/// any mutation of a valid body is either a translation the x402 reader takes or one of the seed's refusals.
/// </summary>
public sealed class SeedPaymentTranslatorFuzzTests
{
    private static readonly int[] RefusalStatuses = [400, 402, 422, 501];

    [Fact]
    public void Translate_EveryTruncationOfAValidBody_ValidationError()
    {
        var body = SeedBodies.Valid.Body;
        for (var length = 0; length < body.Length; length++)
        {
            var translation = SeedPaymentTranslator.Translate(body.AsSpan(0, length));

            Assert.False(translation.Succeeded);
            Assert.Equal(("VALIDATION_ERROR", 400), (translation.Error.Code, translation.Error.Status));
        }
    }

    [Fact]
    public void Translate_RandomBytesAndJsonishNoise_ValidationError()
    {
        var random = new Random(402);
        const string Alphabet = "{}[]\":,.-+eE0123456789abcdefx \\ut\n";
        for (var i = 0; i < 3000; i++)
        {
            var body = new byte[random.Next(0, 400)];
            if (i % 2 == 0)
            {
                random.NextBytes(body);
            }
            else
            {
                for (var j = 0; j < body.Length; j++)
                {
                    body[j] = (byte)Alphabet[random.Next(Alphabet.Length)];
                }
            }

            var translation = SeedPaymentTranslator.Translate(body);

            Assert.False(translation.Succeeded);
            Assert.Equal(400, translation.Error.Status);
            Assert.NotEmpty(translation.Error.Details);
        }
    }

    [Theory]
    [InlineData(65)]
    [InlineData(10_000)]
    [InlineData(200_000)]
    public void Translate_DeeplyNestedBody_ValidationError(int depth)
    {
        var arrays = new string('[', depth) + new string(']', depth);
        var objects = new StringBuilder().Insert(0, "{\"proof\":", depth).Append('1').Append('}', depth).ToString();
        var inIgnoredField = SeedBodies.Text.Insert(1, "\"skip\":" + arrays + ",");

        foreach (var body in new[] { arrays, objects, inIgnoredField })
        {
            var translation = SeedPaymentTranslator.Translate(Encoding.UTF8.GetBytes(body));

            Assert.False(translation.Succeeded);
            Assert.Equal(("VALIDATION_ERROR", "body"), (translation.Error.Code, Assert.Single(translation.Error.Details).Field));
        }
    }

    [Fact]
    public void Translate_RandomMutationsOfAValidBody_TranslatedOrRefusedWithASeedStatus()
    {
        var random = new Random(8453);
        var valid = SeedBodies.Valid.Body;
        const string Replacements = "\"{}[],:.0123456789abcdefABCDEFxX-\\ ";
        var translated = 0;
        for (var i = 0; i < 5000; i++)
        {
            var body = (byte[])valid.Clone();
            for (var edits = random.Next(1, 4); edits > 0; edits--)
            {
                body[random.Next(body.Length)] = (byte)Replacements[random.Next(Replacements.Length)];
            }

            var translation = SeedPaymentTranslator.Translate(body);

            if (translation.Succeeded)
            {
                translated++;
                Assert.Equal(PaymentRequestError.None, PaymentRequestReader.TryRead(translation.Request, out _));
            }
            else
            {
                Assert.Contains(translation.Error.Status, RefusalStatuses);
                Assert.NotEmpty(translation.Error.Details);
            }
        }

        Assert.InRange(translated, 1, 4999);
    }
}
