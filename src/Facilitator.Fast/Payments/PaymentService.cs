using System.Numerics;
using Facilitator.Fast.Evm;
using Facilitator.Fast.Protocol;
using Facilitator.Fast.Routing;
using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Payments;

/// <summary>A <c>/v1</c> answer: the payment as it now stands, or why the request was not served.</summary>
public readonly record struct PaymentOutcome(PaymentRecord? Record, PaymentProblem? Problem)
{
    public static implicit operator PaymentOutcome(PaymentProblem problem) => new(null, problem);
}

/// <summary>
/// The payment lifecycle behind <c>/v1</c>: verify an x402 request (judged by local verification and an upstream, as
/// <c>/verify</c> is) into a stored payment, and read it back, expired once its <c>validBefore</c> has passed unsettled.
/// <see cref="PaymentSettler"/> settles it.
/// </summary>
public sealed partial class PaymentService(
    IPaymentStore store,
    FailoverRouter router,
    LocalVerifier local,
    PaymentSettings settings,
    TimeProvider time,
    ILogger<PaymentService> logger,
    IPaymentEvents? events = null)
{
    /// <summary>Verifies the x402 request in <paramref name="request"/> and keeps the payment; the same authorization again gets its record.</summary>
    public async ValueTask<PaymentOutcome> VerifyAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        var error = PaymentRequestReader.TryRead(request.Span, out var view);
        if (error != PaymentRequestError.None)
        {
            return PaymentProblem.Validation(PaymentRequestReader.Describe(error));
        }

        var trace = PaymentEventTrace.Start(events, FacilitatorOperation.Verify, request.Span, view, time);
        var outcome = await VerifyAsync(request, view, trace, cancellationToken).ConfigureAwait(false);
        trace?.Finish(outcome);
        return outcome;
    }

    private async ValueTask<PaymentOutcome> VerifyAsync(
        ReadOnlyMemory<byte> request, PaymentRequestView view, PaymentEventTrace? trace, CancellationToken cancellationToken)
    {
        var verdict = local.Judge(request.Span, view, out var facts);
        if (local.AnswersLocally(verdict))
        {
            trace?.JudgedBy = PaymentEventTrace.Local;
            return PaymentProblem.ForLocalCheck(verdict.FailedCheck);
        }

        if (!facts.Decoded || !SettlementIdentity.TryCreate(request.Span, view, facts, out var identity))
        {
            return PaymentProblem.Of(SeedErrorCodes.UnsupportedNetwork, "Only EIP-3009 payments of the exact scheme on EVM networks can be kept as /v1 payments; use /verify and /settle for others.");
        }

        var network = KnownAssets.Caip2Of(view.Network.RawIn(request.Span));
        var asset = KnownAssets.Find(network, view[PaymentField.RequirementsAsset].ToString(request.Span) ?? "");
        if (asset is null)
        {
            return PaymentProblem.Of(SeedErrorCodes.UnsupportedNetwork, $"The asset is not one the official x402 packages list on {network}, so its units are not known.");
        }

        var id = facts.PaymentId;
        if (await store.GetAsync(id).ConfigureAwait(false) is { } existing && Answers(existing, identity) is { } known)
        {
            return known;
        }

        using var body = PooledBytes.CopyOf(request.Span);
        using var route = await router.RouteAsync(FacilitatorOperation.Verify, body, null, cancellationToken, kind: PaymentKind.Of(view)).ConfigureAwait(false);
        switch (route.Outcome)
        {
            case RouteOutcome.Answered:
                trace?.JudgedBy = route.Upstream!.Id;
                var answer = UpstreamVerdict.Read(FacilitatorOperation.Verify, route.Body!.Span);
                if (!answer.Accepted)
                {
                    return PaymentProblem.ForUpstreamReason(answer.Reason, route.Upstream!.Id);
                }

                break;
            case RouteOutcome.Unsupported:
                return PaymentProblem.Of(SeedErrorCodes.UnsupportedNetwork, route.FailureSummary ?? "No facilitator supports this payment.");
            case RouteOutcome.Rejected:
                return PaymentProblem.Of(SeedErrorCodes.InvalidProof, $"Every facilitator rejected the request: {route.FailureSummary}.");
            default:
                return PaymentProblem.Unavailable($"No facilitator could verify the payment: {route.FailureSummary ?? "none available"}.");
        }

        var value = new BigInteger(facts.Authorization.Value.ToBigEndianBytes(), isUnsigned: true, isBigEndian: true);
        var now = time.GetUtcNow();
        var validBefore = (long)facts.Authorization.ValidBefore.SaturatedUInt64;
        var record = new PaymentRecord(
            id, PaymentStatus.Verified, identity.Fingerprint,
            view.Payer.ToString(request.Span) ?? "", view[PaymentField.RequirementsPayTo].ToString(request.Span) ?? "",
            TokenAmount.Format(value, asset.Decimals), value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            asset.Address, asset.Symbol, asset.Decimals, network, settings.Fees.Fee(value, asset.Decimals),
            route.Upstream!.Id, null, null, now.ToUnixTimeMilliseconds(), null, null, validBefore, request.ToArray());
        var created = await store.CreateAsync(record, DueIn(record, now)).ConfigureAwait(false);
        switch (created.Outcome)
        {
            case PaymentCreateOutcome.Created:
                PaymentVerified(logger, record.Network, record.VerifiedBy!);
                return new PaymentOutcome(record, null);
            case PaymentCreateOutcome.Existing when created.Record is { } raced && Answers(raced, identity) is { } answer2:
                return answer2;
            case PaymentCreateOutcome.Existing:
                return new PaymentOutcome(created.Record, null);
            default:
                return PaymentProblem.Of(SeedErrorCodes.UpstreamUnavailable, "The payment store is full of payments not yet settled; retry later, or settle some. Nothing was stored.");
        }
    }

    /// <summary>The payment as stored, expired once its <c>validBefore</c> has passed unsettled; null if unknown.</summary>
    public async ValueTask<PaymentRecord?> GetAsync(Guid id)
    {
        var record = await store.GetAsync(id).ConfigureAwait(false);
        return record is { Status: PaymentStatus.Verified } && IsPastValidity(record)
            ? await ExpireAsync(record).ConfigureAwait(false)
            : record;
    }

    /// <summary>The number of payments verified or settling, for the stats.</summary>
    public ValueTask<long> CountOpenAsync() => store.CountOpenAsync();

    internal IPaymentStore Store => store;

    internal PaymentSettings Settings => settings;

    internal bool IsPastValidity(PaymentRecord record) => time.GetUtcNow().ToUnixTimeSeconds() >= record.ValidBefore;

    internal async ValueTask<PaymentRecord> ExpireAsync(PaymentRecord record)
    {
        var expired = record with { Status = PaymentStatus.Expired, Request = null, Error = "The authorization's validBefore passed before it was settled." };
        var moved = await store.TransitionAsync(PaymentTransitions.AllowedBefore(PaymentStatus.Expired, sent: false), expired).ConfigureAwait(false);
        if (moved.Applied)
        {
            await store.CompleteAsync(record.Id).ConfigureAwait(false);
            return expired;
        }

        return moved.Current ?? record;
    }

    /// <summary>
    /// What an existing record of this id means for a verify: the same authorization gets it back; another authorization
    /// reusing the nonce is refused unless that record is failed or expired (then this one takes its place).
    /// </summary>
    private static PaymentOutcome? Answers(PaymentRecord existing, in SettlementIdentity identity)
    {
        if (existing.Fingerprint == identity.Fingerprint)
        {
            return new PaymentOutcome(existing, null);
        }

        if (existing.Status is PaymentStatus.Failed or PaymentStatus.Expired)
        {
            return null;
        }

        return PaymentProblem.Of(SeedErrorCodes.InvalidProof, $"Another authorization of this payer with the same nonce is payment {PaymentId.Format(existing.Id)} ({PaymentStatuses.Name(existing.Status)}); a nonce authorizes one transfer.");
    }

    /// <summary>When the payment needs attention: its automatic settlement, else its expiry.</summary>
    private TimeSpan DueIn(PaymentRecord record, DateTimeOffset now)
    {
        var untilExpiry = DateTimeOffset.FromUnixTimeSeconds(record.ValidBefore) - now;
        if (!settings.AutoSettle)
        {
            return untilExpiry < TimeSpan.Zero ? TimeSpan.Zero : untilExpiry;
        }

        var latest = untilExpiry - settings.AutoSettleMargin;
        var due = settings.AutoSettleDelay < latest ? settings.AutoSettleDelay : latest;
        return due < TimeSpan.Zero ? TimeSpan.Zero : due;
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "[Payments] payment verified on {Network} by {UpstreamId}")]
    private static partial void PaymentVerified(ILogger logger, string network, string upstreamId);
}
