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
    SettlementCoordinator settlements,
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

        if (!identity.Verified)
        {
            // A payment id stands for the payer's nonce: a signature not checked as the payer's (a contract wallet's, a
            // malleable copy) could be anyone's, and must not take the id of the payer's real authorization.
            return PaymentProblem.Of(SeedErrorCodes.InvalidSignature, "The signature could not be checked as the payer's 65-byte EIP-712 signature (low s); /v1 keeps only payments whose signature this gateway has checked. Use /verify and /settle for others.");
        }

        var network = KnownAssets.Caip2Of(view.Network.RawIn(request.Span));
        var asset = KnownAssets.Find(network, view[PaymentField.RequirementsAsset].ToString(request.Span) ?? "");
        if (asset is null)
        {
            return PaymentProblem.Of(SeedErrorCodes.UnsupportedNetwork, $"The asset is not one the official x402 packages list on {network}, so its units are not known.");
        }

        var id = facts.PaymentId;
        if (await store.GetAsync(id).ConfigureAwait(false) is { } existing)
        {
            if (Answers(existing, identity) is { } known)
            {
                return known;
            }

            // Another authorization of the nonce failed or expired here, but may be settled or pending through /settle.
            if (await settlements.HoldsNonceAsync(request, view, facts).ConfigureAwait(false))
            {
                return PaymentProblem.Of(SeedErrorCodes.InvalidProof, $"Another authorization of this payer with the same nonce (payment {PaymentId.Format(existing.Id)}) is settled or being settled; a nonce authorizes one transfer.");
            }
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
        var validBefore = (long)Math.Min(facts.Authorization.ValidBefore.SaturatedUInt64, (ulong)LatestValidBefore);
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
                return PaymentProblem.Unavailable("Another request for this payer's nonce changed its payment at the same moment; retry.");
            default:
                return PaymentProblem.Of(SeedErrorCodes.UpstreamUnavailable, "The payment store is full of payments not yet settled; retry later, or settle some. Nothing was stored.");
        }
    }

    /// <summary>
    /// The payment as stored, corrected by what the settlement ledger knows of its authorization; expired once its
    /// <c>validBefore</c> has passed with no settlement of it; null if unknown.
    /// </summary>
    public async ValueTask<PaymentRecord?> GetAsync(Guid id) =>
        await store.GetAsync(id).ConfigureAwait(false) is { } record ? await ReconcileAsync(record).ConfigureAwait(false) : null;

    /// <summary>
    /// A record that may be behind the ledger — verified or settling past its validity, failed, or expired — corrected
    /// from it: this very authorization (same fingerprint) settled through <c>/settle</c> or after a refusal is settled;
    /// pending or in flight at an upstream is settling there; a settle that ended is its outcome; otherwise a verified
    /// payment past its validity is expired, and a settling one stays settling (its outcome is the upstream's to tell).
    /// </summary>
    /// <param name="pastValidity">Treat it as past its validity although the clock says not yet (local verification's margin).</param>
    internal async ValueTask<PaymentRecord> ReconcileAsync(PaymentRecord record, bool pastValidity = false)
    {
        var behind = record.Status is PaymentStatus.Failed or PaymentStatus.Expired
            || (record.Status is PaymentStatus.Verified or PaymentStatus.Settling && (pastValidity || IsPastValidity(record)));
        if (!behind || record.Request is not { } request)
        {
            return record;
        }

        var (read, known) = await LookUpAsync(request).ConfigureAwait(false);
        if (!read)
        {
            // The ledger cannot tell now: nothing is concluded (above all, not that it expired unsettled).
            return record;
        }

        var verdict = known is { State: SettlementState.Finished, Body: { } answer } ? UpstreamVerdict.Read(FacilitatorOperation.Settle, answer) : default;
        PaymentRecord? next = known switch
        {
            { State: SettlementState.Finished, Success: true } when verdict.Accepted => record with
            {
                Status = PaymentStatus.Settled, SettledBy = known.UpstreamId, Transaction = verdict.Transaction,
                SettledAtMs = time.GetUtcNow().ToUnixTimeMilliseconds(), Request = null, Error = null,
            },

            // Only the holder's own refusal ends a settle it has: another upstream's refusal of a later attempt proves nothing.
            { State: SettlementState.Finished, Success: false } when record is { Status: PaymentStatus.Settling, SettledBy: { } holder } && known.UpstreamId == holder => record with
            {
                Status = PaymentStatus.Failed, Error = verdict.Reason ?? "settlement refused without a reason",
            },
            { State: SettlementState.Finished } => null,
            { } held when record.Status is PaymentStatus.Verified or PaymentStatus.Failed => record with
            {
                Status = PaymentStatus.Settling, SettledBy = held.UpstreamId, Transaction = held.Transaction, Error = null,
            },
            _ => null,
        };

        if (next is null)
        {
            return record.Status == PaymentStatus.Verified ? await ExpireAsync(record).ConfigureAwait(false) : record;
        }

        var moved = await store.TransitionAsync(PaymentTransitions.AllowedBefore(next.Status, sent: true), next).ConfigureAwait(false);
        if (moved.Applied && PaymentStatuses.IsFinal(next.Status))
        {
            await store.CompleteAsync(record.Id).ConfigureAwait(false);
        }

        return moved.Applied ? next : moved.Current ?? record;
    }

    /// <summary>A settling record without a holder, given the upstream the ledger names for its authorization, if any.</summary>
    internal async ValueTask<PaymentRecord> LearnHolderAsync(PaymentRecord settling)
    {
        if (settling.SettledBy is not null || settling.Request is not { } request)
        {
            return settling;
        }

        if ((await LookUpAsync(request).ConfigureAwait(false)).Record is not { UpstreamId: { } holder } known
            || known.State == SettlementState.Finished)
        {
            return settling;
        }

        var next = settling with { SettledBy = holder, Transaction = known.Transaction };
        var moved = await store.TransitionAsync(PaymentStatusSet.Of(PaymentStatus.Settling), next).ConfigureAwait(false);
        return moved.Applied ? next : moved.Current ?? settling;
    }

    /// <summary>What the settlement ledger holds for this very authorization (the stored request); Read false when it cannot tell.</summary>
    private async ValueTask<(bool Read, SettlementRecord? Record)> LookUpAsync(byte[] request)
    {
        using var body = PooledBytes.CopyOf(request);
        if (PaymentRequestReader.TryRead(body.Span, out var view) != PaymentRequestError.None)
        {
            return (true, null);
        }

        local.Judge(body.Span, view, out var facts);
        return await settlements.LookUpSameAsync(body.Memory, view, facts).ConfigureAwait(false);
    }

    /// <summary>The number of payments verified or settling, for the stats.</summary>
    public ValueTask<long> CountOpenAsync() => store.CountOpenAsync();

    internal IPaymentStore Store => store;

    internal PaymentSettings Settings => settings;

    internal bool IsPastValidity(PaymentRecord record) => time.GetUtcNow().ToUnixTimeSeconds() >= record.ValidBefore;

    private async ValueTask<PaymentRecord> ExpireAsync(PaymentRecord record)
    {
        // The request is kept (never shown): a settlement of this authorization the ledger learns of later still finds it.
        var expired = record with { Status = PaymentStatus.Expired, Error = "The authorization's validBefore passed before it was settled." };
        var moved = await store.TransitionAsync(PaymentTransitions.AllowedBefore(PaymentStatus.Expired, sent: false), expired).ConfigureAwait(false);
        if (moved.Applied)
        {
            await store.CompleteAsync(record.Id).ConfigureAwait(false);
            return expired;
        }

        return moved.Current ?? record;
    }

    /// <summary>
    /// What an existing record of this id means for a verify: the same authorization gets it back (a failed or expired
    /// one as the error it ended with); another authorization reusing the nonce is refused, unless the record is failed
    /// or expired — then it may take the record's place, once the ledger shows the nonce unspent.
    /// </summary>
    private static PaymentOutcome? Answers(PaymentRecord existing, in SettlementIdentity identity)
    {
        if (existing.Fingerprint == identity.Fingerprint)
        {
            return existing.Status switch
            {
                PaymentStatus.Failed => PaymentProblem.Of(
                    SeedErrorCodes.InvalidProof, $"This authorization is payment {PaymentId.Format(existing.Id)}, whose settlement failed ({existing.Error}); sign a new one."),
                PaymentStatus.Expired => PaymentProblem.Of(SeedErrorCodes.ExpiredProof, $"This authorization is payment {PaymentId.Format(existing.Id)}, which expired unsettled."),
                _ => new PaymentOutcome(existing, null),
            };
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

    /// <summary>The latest time a record keeps (the end of year 9999): an authorization valid further is kept as if valid until then.</summary>
    internal static long LatestValidBefore { get; } = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "[Payments] payment verified on {Network} by {UpstreamId}")]
    private static partial void PaymentVerified(ILogger logger, string network, string upstreamId);
}
