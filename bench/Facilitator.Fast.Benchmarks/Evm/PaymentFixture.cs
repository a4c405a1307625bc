using System.Text;
using System.Text.Json;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Benchmarks.Evm;

/// <summary>A valid v2 payment from the committed vectors (signed by the official client), with the time it is valid at.</summary>
internal sealed class PaymentFixture
{
    public PaymentFixture()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "payment-vectors.json")));
        Now = document.RootElement.GetProperty("now").GetInt64();
        var valid = document.RootElement.GetProperty("cases").EnumerateArray()
            .First(c => c.GetProperty("name").GetString()!.StartsWith("v2/base-sepolia/usdc/valid/", StringComparison.Ordinal));
        Body = Encoding.UTF8.GetBytes(valid.GetProperty("request").GetRawText());
        Digest = Convert.FromHexString(valid.GetProperty("digest").GetString()![2..]);
        PaymentRequestReader.TryRead(Body, out var view);
        View = view;
        Signature = Convert.FromHexString(view[PaymentField.Signature].ToString(Body)![2..]);
        Verifier = new ExactEvmVerifier(new LocalVerificationOptions(), new FixedTime(Now));
    }

    public long Now { get; }

    public byte[] Body { get; }

    public PaymentRequestView View { get; }

    public byte[] Digest { get; }

    public byte[] Signature { get; }

    public ExactEvmVerifier Verifier { get; }

    private sealed class FixedTime(long unixSeconds) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
    }
}
