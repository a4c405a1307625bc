using Facilitator.Fast.Protocol;

namespace Facilitator.Fast.Evm;

/// <summary>
/// Local verification as the request path uses it: judges a payment according to the configured mode, counts the
/// verdicts, and in shadow mode compares each verdict with the upstream's answer and logs disagreements.
/// </summary>
public sealed partial class LocalVerifier
{
    /// <summary>With verification off libsecp256k1 need not be installed (JIT builds load it from the system).</summary>
    private static readonly Lazy<bool> s_recoveryAvailable = new(static () =>
    {
        try
        {
            return Secp256k1.IsAvailable;
        }
        catch (TypeInitializationException)
        {
            return false;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    });

    private readonly ExactEvmVerifier _verifier;
    private readonly ILogger<LocalVerifier> _logger;

    public LocalVerifier(LocalVerificationOptions options, TimeProvider time, ILogger<LocalVerifier> logger)
    {
        Mode = options.Mode;
        _verifier = new ExactEvmVerifier(options, time);
        _logger = logger;
    }

    public LocalVerificationMode Mode { get; }

    public LocalVerificationStatistics Statistics { get; } = new();

    /// <summary>The verdict on a payment, or <see cref="LocalVerdictKind.NotChecked"/> when verification is off.</summary>
    public LocalVerdict Judge(ReadOnlySpan<byte> body, in PaymentRequestView view)
    {
        if (Mode == LocalVerificationMode.Off)
        {
            return default;
        }

        var verdict = _verifier.Verify(body, view);
        Statistics.Record(verdict);
        return verdict;
    }

    /// <summary>
    /// The verdict on a payment about to be settled, and what it authorizes: the facts are decoded (and the signature
    /// checked) whatever the mode, because the settlement ledger keys settlements by them.
    /// </summary>
    public LocalVerdict Judge(ReadOnlySpan<byte> body, in PaymentRequestView view, out AuthorizationFacts facts)
    {
        if (Mode == LocalVerificationMode.Off)
        {
            facts = default;
            if (s_recoveryAvailable.Value)
            {
                _verifier.Verify(body, view, out facts);
            }

            return default;
        }

        var verdict = _verifier.Verify(body, view, out facts);
        Statistics.Record(verdict);
        return verdict;
    }

    /// <summary>True when <paramref name="verdict"/> is to be answered locally instead of routed.</summary>
    public bool AnswersLocally(in LocalVerdict verdict) =>
        Mode == LocalVerificationMode.Enforce && verdict.Kind == LocalVerdictKind.Invalid;

    /// <summary>Shadow mode: compares a judged verdict with the upstream's answer to the same payment.</summary>
    public void CompareWithUpstream(in LocalVerdict verdict, int x402Version, FacilitatorOperation operation, ReadOnlySpan<byte> answer)
    {
        if (Mode != LocalVerificationMode.Shadow || verdict.Kind is not (LocalVerdictKind.Valid or LocalVerdictKind.Invalid)
            || !X402AnswerShape.TryReadVerdict(operation, answer, out var upstreamAccepted, out var upstreamReason))
        {
            return;
        }

        var localAccepted = verdict.Kind == LocalVerdictKind.Valid;
        Statistics.RecordComparison(localAccepted, upstreamAccepted);
        if (!localAccepted && !upstreamAccepted && !upstreamReason.ValueEquals(answer, System.Text.Encoding.ASCII.GetBytes(verdict.Reason(x402Version))))
        {
            Statistics.RecordReasonMismatch();
            Disagreement(_logger, FacilitatorOperations.Name(operation), verdict.Reason(x402Version), upstreamReason.ToString(answer) ?? "(no reason)");
        }

        if (localAccepted != upstreamAccepted)
        {
            Disagreement(
                _logger,
                FacilitatorOperations.Name(operation),
                localAccepted ? "valid" : verdict.Reason(x402Version),
                upstreamAccepted ? "valid" : upstreamReason.ToString(answer) ?? "(no reason)");
        }
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning, Message = "Local verification disagrees with the upstream on a {Operation}: local {LocalVerdict}, upstream {UpstreamVerdict}")]
    private static partial void Disagreement(ILogger logger, string operation, string localVerdict, string upstreamVerdict);
}
