using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>The settlement state machine, transition by transition: who may make each change, and what it becomes.</summary>
public sealed class SettlementTransitionsTests
{
    private const long Now = 1_800_000_000_000;
    private const long Lease = 10_000;

    private static readonly Sha256Hash Print = Sha256Hash.Of("authorization A"u8);
    private static readonly Sha256Hash OtherPrint = Sha256Hash.Of("authorization B"u8);
    private static readonly SettlementIdentity Identity = new() { Key = Sha256Hash.Of("key"u8), Fingerprint = Print, Verified = true };

    private static SettlementRecord InFlight(string owner, string? upstream = null, long leaseUntil = Now + Lease, bool retry = false) =>
        new(SettlementState.InFlight, Print, true, upstream, owner, leaseUntil, retry, false, 0, null, null, Now);

    private static SettlementRecord Pending(string upstream) => new(SettlementState.Pending, Print, true, upstream, null, 0, false, false, 0, null, null, Now);

    private static SettlementRecord Finished(bool success) =>
        new(SettlementState.Finished, Print, true, "x", null, 0, false, success, 200, "application/json", [1], Now);

    [Fact]
    public void Claim_NoRecord_ClaimedInFlightWithALeaseAndNoUpstream()
    {
        var (kind, next) = SettlementTransitions.Claim(null, Identity, "me", Now, Lease);

        Assert.Equal(ClaimKind.Claimed, kind);
        Assert.Equal(SettlementState.InFlight, next!.State);
        Assert.Equal("me", next.ClaimId);
        Assert.Equal(Now + Lease, next.LeaseUntilMs);
        Assert.Null(next.UpstreamId);
        Assert.True(next.Verified);
    }

    [Theory]
    [InlineData(SettlementState.InFlight)]
    [InlineData(SettlementState.Pending)]
    [InlineData(SettlementState.Finished)]
    public void Claim_AnotherAuthorizationHoldsTheKey_NonceReusedWhateverItsState(SettlementState state)
    {
        var other = state switch
        {
            SettlementState.InFlight => InFlight("owner", "x"),
            SettlementState.Pending => Pending("x"),
            _ => Finished(success: true),
        } with { Fingerprint = OtherPrint };

        var (kind, next) = SettlementTransitions.Claim(other, Identity, "me", Now, Lease);

        Assert.Equal(ClaimKind.NonceReused, kind);
        Assert.Null(next);
    }

    [Fact]
    public void Claim_SameAuthorizationFinished_Replayed() =>
        Assert.Equal(ClaimKind.Replay, SettlementTransitions.Claim(Finished(success: false), Identity, "me", Now, Lease).Kind);

    [Fact]
    public void Claim_FailureOfAnotherRequestOrAuthorization_ClaimedAfreshBecauseAFailureSpendsNoNonce()
    {
        var failed = Finished(success: false) with { RequestDigest = Sha256Hash.Of("the request that failed"u8) };

        Assert.Equal(ClaimKind.Replay, SettlementTransitions.Claim(failed, Identity with { RequestDigest = failed.RequestDigest }, "me", Now, Lease).Kind);
        Assert.Equal(ClaimKind.Claimed, SettlementTransitions.Claim(failed, Identity, "me", Now, Lease).Kind);
        Assert.Equal(ClaimKind.Claimed, SettlementTransitions.Claim(failed with { Fingerprint = OtherPrint }, Identity, "me", Now, Lease).Kind);
    }

    [Fact]
    public void Claim_OwnUnconfirmedClaimThatNamedNoUpstream_TakenOverAtOnce()
    {
        Assert.Equal(ClaimKind.Claimed, SettlementTransitions.Claim(InFlight("lost-write"), Identity, "me", Now, Lease, orphanClaimId: "lost-write").Kind);
        Assert.Equal(ClaimKind.InFlight, SettlementTransitions.Claim(InFlight("lost-write", "x"), Identity, "me", Now, Lease, orphanClaimId: "lost-write").Kind);
        Assert.Equal(ClaimKind.InFlight, SettlementTransitions.Claim(InFlight("someone"), Identity, "me", Now, Lease, orphanClaimId: "lost-write").Kind);
    }

    [Fact]
    public void Claim_SameAuthorizationInFlightUnderALiveLease_Waits() =>
        Assert.Equal(ClaimKind.InFlight, SettlementTransitions.Claim(InFlight("owner", "x"), Identity, "me", Now, Lease).Kind);

    [Fact]
    public void Claim_LapsedLeaseThatNamedNoUpstream_ClaimedAfreshBecauseNothingWasSent()
    {
        var (kind, next) = SettlementTransitions.Claim(InFlight("dead", null, leaseUntil: Now - 1), Identity, "me", Now, Lease);

        Assert.Equal(ClaimKind.Claimed, kind);
        Assert.False(next!.Retry);
        Assert.Null(next.UpstreamId);
    }

    [Fact]
    public void Claim_LapsedLeaseThatNamedAnUpstream_RetryBoundToThatUpstream()
    {
        var (kind, next) = SettlementTransitions.Claim(InFlight("dead", "x", leaseUntil: Now - 1), Identity, "me", Now, Lease);

        Assert.Equal(ClaimKind.ClaimedRetry, kind);
        Assert.True(next!.Retry);
        Assert.Equal("x", next.UpstreamId);
        Assert.Equal("me", next.ClaimId);
    }

    [Fact]
    public void Claim_Pending_RetryBoundToItsHolder()
    {
        var (kind, next) = SettlementTransitions.Claim(Pending("x"), Identity, "me", Now, Lease);

        Assert.Equal(ClaimKind.ClaimedRetry, kind);
        Assert.Equal("x", next!.UpstreamId);
    }

    [Fact]
    public void Assign_ByAnotherCaller_Refused() =>
        Assert.False(SettlementTransitions.Assign(InFlight("owner"), "stranger", "x", Now, Lease).Allowed);

    [Fact]
    public void Assign_RetryToAnotherUpstream_Refused()
    {
        Assert.False(SettlementTransitions.Assign(InFlight("me", "x", retry: true), "me", "y", Now, Lease).Allowed);
        Assert.True(SettlementTransitions.Assign(InFlight("me", "x", retry: true), "me", "x", Now, Lease).Allowed);
    }

    [Fact]
    public void Assign_ByTheOwner_NamesTheUpstreamAndRenewsTheLease()
    {
        var change = SettlementTransitions.Assign(InFlight("me", "x", leaseUntil: Now + 5), "me", "y", Now + 100, Lease);

        Assert.Equal("y", change.Next!.UpstreamId);
        Assert.Equal(Now + 100 + Lease, change.Next.LeaseUntilMs);
    }

    [Fact]
    public void Renew_AfterTheClaimWasTakenOver_Refused() =>
        Assert.False(SettlementTransitions.Renew(InFlight("successor", "x", retry: true), "me", Now, Lease).Allowed);

    [Fact]
    public void Finish_ByTheOwner_FinishedWithTheAnswer()
    {
        var change = SettlementTransitions.Finish(InFlight("me", "x"), "me", Print, "x", true, 200, "application/json", [7], Now);

        Assert.Equal(SettlementState.Finished, change.Next!.State);
        Assert.True(change.Next.Success);
        Assert.Equal(new byte[] { 7 }, change.Next.Body);
        Assert.Equal("me", change.Next.ClaimId);
    }

    [Fact]
    public void Finish_FormerOwnerWithASuccessFromTheHolder_RecordedOverThePendingRecord()
    {
        Assert.True(SettlementTransitions.Finish(Pending("x"), "former", Print, "x", true, 200, null, [1], Now).Allowed);
        Assert.True(SettlementTransitions.Finish(InFlight("successor", "x", retry: true), "former", Print, "x", true, 200, null, [1], Now).Allowed);
    }

    [Fact]
    public void Finish_FormerOwnerWithAFailureOrFromAnotherUpstream_Refused()
    {
        Assert.False(SettlementTransitions.Finish(Pending("x"), "former", Print, "x", false, 200, null, [1], Now).Allowed);
        Assert.False(SettlementTransitions.Finish(Pending("x"), "former", Print, "y", true, 200, null, [1], Now).Allowed);
        Assert.False(SettlementTransitions.Finish(Finished(success: false), "former", Print, "x", true, 200, null, [1], Now).Allowed);
    }

    [Fact]
    public void MarkPending_ByTheOwner_PendingAtTheUpstreamAndOwnedByNobody()
    {
        var change = SettlementTransitions.MarkPending(InFlight("me", "x"), "me", "x", Now);

        Assert.Equal(SettlementState.Pending, change.Next!.State);
        Assert.Equal("x", change.Next.UpstreamId);
        Assert.False(SettlementTransitions.Assign(change.Next, "me", "x", Now, Lease).Allowed);
        Assert.False(SettlementTransitions.MarkPending(change.Next, "me", "y", Now).Allowed);
    }

    [Fact]
    public void Release_FreshClaim_RemovesTheRecord()
    {
        var change = SettlementTransitions.Release(InFlight("me", "x"), "me", Now);

        Assert.True(change.Allowed);
        Assert.Null(change.Next);
    }

    [Fact]
    public void Release_Retry_LeavesItPendingAtTheHolder()
    {
        var change = SettlementTransitions.Release(InFlight("me", "x", retry: true), "me", Now);

        Assert.Equal(SettlementState.Pending, change.Next!.State);
        Assert.Equal("x", change.Next.UpstreamId);
    }

    [Fact]
    public void Release_ByAnotherCaller_Refused() =>
        Assert.False(SettlementTransitions.Release(InFlight("owner", "x"), "stranger", Now).Allowed);
}
