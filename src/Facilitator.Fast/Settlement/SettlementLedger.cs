using Facilitator.Fast.State;

namespace Facilitator.Fast.Settlement;

/// <summary>What a claim found, and the claim itself when the caller now owns the settlement.</summary>
public readonly record struct ClaimResult(ClaimKind Kind, SettlementRecord? Current, SettlementClaim? Claim);

/// <summary>
/// The settlement ledger: claims, records and finds settlements by applying <see cref="SettlementTransitions"/> to a
/// store under compare-and-set. The store is Redis when instances share state (with the in-memory store as an opt-in
/// fallback while Redis is away), else the in-memory store.
/// </summary>
public sealed partial class SettlementLedger
{
    private const int MaxConflicts = 8;
    private const int MaxUnconfirmed = 10_000;

    private readonly ISettlementStore _store;
    private readonly ISettlementStore? _fallback;
    private readonly MirroredSettlementStore? _mirror;
    private readonly InMemorySettlementStore? _copies;
    private readonly TimeProvider _time;
    private readonly ILogger<SettlementLedger> _logger;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Sha256Hash, string> _unconfirmed = new();
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SettlementRecord, object> _seeded = new();

    public SettlementLedger(
        ISettlementStore store, ISettlementStore? fallback, SettlementPolicy policy, SettlementOutcomeRetries retries, TimeProvider time, ILogger<SettlementLedger> logger)
    {
        Policy = policy;
        _fallback = fallback;
        if (fallback is not null)
        {
            // What the shared store says of each settlement this instance touches, for the fallback to answer repeats from.
            var mirrored = new MirroredSettlementStore(store, new InMemorySettlementStore(time, store.Waiters, policy.MaxMemoryBytes), KeepCopyFor);
            _mirror = mirrored;
            _copies = mirrored.Copies;
            store = mirrored;
        }

        _store = store;
        Retries = retries;
        _time = time;
        _logger = logger;
    }

    public SettlementPolicy Policy { get; }

    /// <summary>Record writes that failed and are being retried.</summary>
    public SettlementOutcomeRetries Retries { get; }

    public SettlementWaiters Waiters => _store.Waiters;

    internal TimeProvider Time => _time;

    internal ILogger Logger => _logger;

    /// <summary>Claims the settlement of <paramref name="identity"/>, or says how the request is to be answered instead.</summary>
    /// <param name="allowFallback">
    /// Whether the local fallback may be used when the store is out of reach; never for a settlement already seen in
    /// the shared store, which the local one cannot see.
    /// </param>
    /// <remarks>
    /// A settlement the local fallback holds is claimed there, even once the store answers again: it was settled (or
    /// is being settled) by this instance where the store cannot see, and the store may hold only the claim that was
    /// queued when it stopped answering — taken over, it would send the authorization again. A record only seeded
    /// there from the copy of the store's (nothing done with it locally) is not held: the store, answering again, is
    /// asked. A settlement the store recorded as finished or pending and this instance read or wrote is claimed on the
    /// fallback from that record: its outcome replayed, a pending one retried at its holder only. One the store
    /// recorded in flight is never taken over on the fallback (its owner may be settling it, or have finished): it is
    /// answered as in flight elsewhere.
    /// </remarks>
    public async ValueTask<ClaimResult> ClaimAsync(SettlementIdentity identity, bool allowFallback = true)
    {
        if (await HeldLocallyAsync(identity.Key).ConfigureAwait(false))
        {
            return await ClaimOnAsync(_fallback!, identity).ConfigureAwait(false);
        }

        try
        {
            return await ClaimOnAsync(_store, identity).ConfigureAwait(false);
        }
        catch (SettlementLedgerUnavailableException ex) when (_fallback is not null && allowFallback && ex.Unreachable)
        {
            LocalFallback(_logger, ex.Message);
            if (await SeedFallbackAsync(identity).ConfigureAwait(false) is { } copiedClaim)
            {
                // Another instance (or this one, its outcome unwritten) may be settling it or have finished: never taken over here.
                return new ClaimResult(copiedClaim.Fingerprint == identity.Fingerprint ? ClaimKind.InFlight : ClaimKind.NonceReused, copiedClaim, null);
            }

            return await ClaimOnAsync(_fallback, identity).ConfigureAwait(false);
        }
    }

    /// <summary>The record under <paramref name="key"/>, without claiming anything.</summary>
    public async ValueTask<SettlementRecord?> FindAsync(Sha256Hash key) => (await ReadAsync(key).ConfigureAwait(false)).Record;

    /// <summary>The record under <paramref name="key"/> with the store's clock, without claiming anything (the local fallback's when it holds one).</summary>
    /// <param name="allowFallback">
    /// Whether, with the store out of reach, the local fallback may answer (its record, else the last the store was seen
    /// to hold); without it the read throws, so that an empty local read is never taken for the store's word.
    /// </param>
    public async ValueTask<StoredSettlement> ReadAsync(Sha256Hash key, bool allowFallback = true)
    {
        if (_fallback is not null && await _fallback.ReadAsync(key).ConfigureAwait(false) is { Record: { } local } held && IsOwnLocal(local))
        {
            return held;
        }

        try
        {
            return await _store.ReadAsync(key).ConfigureAwait(false);
        }
        catch (SettlementLedgerUnavailableException ex) when (_fallback is not null && allowFallback && ex.Unreachable)
        {
            var own = await _fallback.ReadAsync(key).ConfigureAwait(false);
            var copy = await _copies!.ReadAsync(key).ConfigureAwait(false);
            if (own.Record is null && !IsSuccess(copy.Record) && LocalDropped(copy.NowMs))
            {
                throw IncompleteCopies();
            }

            if (copy.Record is { } seen && (own.Record is null || NewerThanLocal(seen, own.Record)))
            {
                return copy;
            }

            if (copy.Record is null && !_mirror!.IsComplete(copy.NowMs))
            {
                // A copy was dropped for room: the store may hold more of this key than the local ledger says.
                throw IncompleteCopies();
            }

            return own;
        }
    }

    /// <summary>
    /// Gives the local fallback the store's finished or pending record of <paramref name="identity"/> as this instance
    /// last saw it, when the fallback has none of its own or only an older one (a failure, a record seeded in an earlier
    /// outage), so that the claim there follows it (a replay, a retry at the holder) rather than starting afresh.
    /// </summary>
    /// <returns>The copy of a claim in flight, which is not seeded (it may have moved on where only the store can see).</returns>
    /// <exception cref="SettlementLedgerUnavailableException">
    /// Neither holds the key while the copies are incomplete: it may be one the store holds, so it is not claimed afresh.
    /// </exception>
    private async ValueTask<SettlementRecord?> SeedFallbackAsync(SettlementIdentity identity)
    {
        var local = await _fallback!.ReadAsync(identity.Key).ConfigureAwait(false);
        var copy = await _copies!.ReadAsync(identity.Key).ConfigureAwait(false);
        if (local.Record is null && !IsSuccess(copy.Record) && LocalDropped(copy.NowMs))
        {
            // The local ledger dropped a success of its own for room: this key may be that one, whatever the copy says —
            // unless the copy is a success, which is final (replaying it spends nothing, and nothing local outdates it).
            throw IncompleteCopies();
        }

        if (copy.Record is not { } seen)
        {
            if (!_mirror!.IsComplete(copy.NowMs))
            {
                // A copy was dropped for room: this key may be one the store holds as settled or started (what the local
                // ledger holds of it here is a failure or a seeded record, which the dropped copy may have outdated).
                throw IncompleteCopies();
            }

            return null;
        }

        if (local.Record is { } held && !NewerThanLocal(seen, held))
        {
            return null;
        }

        if (seen.State == SettlementState.InFlight)
        {
            return seen;
        }

        if (await _fallback.ReplaceAsync(identity.Key, local, seen, Policy.KeepFor(seen, identity, local.NowMs), notify: false).ConfigureAwait(false) is not null)
        {
            _seeded.AddOrUpdate(seen, identity.Key);
        }

        return null;
    }

    /// <summary>Copies an outcome of this instance's the store could not take (out of reach), when the fallback is on.</summary>
    internal async ValueTask CopyUnwrittenAsync(Sha256Hash key, SettlementRecord outcome, TimeSpan keepFor)
    {
        if (_copies is null)
        {
            return;
        }

        try
        {
            var local = await _copies.ReadAsync(key).ConfigureAwait(false);
            await _copies.ReplaceAsync(key, local, outcome, keepFor, notify: false).ConfigureAwait(false);
        }
        catch (SettlementLedgerUnavailableException)
        {
            // No room: the copy of the claim stays, and a repeat here is answered pending from it, never sent again.
        }
    }

    /// <summary>
    /// Whether the copy of the store's record says more than the local ledger's <paramref name="local"/>: always, unless the
    /// local one is this instance's own (acted on while the store was away), the very record seeded from the copy, or the
    /// copy is a failure (which spends nothing, so it changes no claim). A copy only ever moves forward, so one that is
    /// not the record seeded from it was taken from the store after it — an outage's seeded record never shadows it.
    /// </summary>
    private bool NewerThanLocal(SettlementRecord copy, SettlementRecord local) =>
        !ReferenceEquals(copy, local) && !IsFailure(copy) && !IsOwnLocal(local);

    /// <summary>Whether the local ledger dropped a success of its own for room that it would still be keeping at <paramref name="nowMs"/>.</summary>
    private bool LocalDropped(long nowMs) => _fallback is InMemorySettlementStore own && nowMs < own.EvictedSuccessUntilMs;

    private static SettlementLedgerUnavailableException IncompleteCopies() => new(
        "The settlement ledger is out of reach and the local ledger has dropped records for room (Settlement:MaxMemoryBytes); retry once it answers.");

    /// <summary>How long a copy of a record read from the store is kept: a failure briefly, a claim for the settle it covers.</summary>
    private TimeSpan KeepCopyFor(SettlementRecord record) => record switch
    {
        { State: SettlementState.Finished, Success: false } => Policy.FailureRetention,
        { State: SettlementState.InFlight } => Policy.MinRetention,
        _ => Policy.MaxRetention,
    };

    /// <summary>
    /// Whether the local fallback holds a settlement of <paramref name="key"/> it acted on, other than a failure (which
    /// spends nothing).
    /// </summary>
    private async ValueTask<bool> HeldLocallyAsync(Sha256Hash key) =>
        _fallback is not null && await _fallback.ReadAsync(key).ConfigureAwait(false) is { Record: { } local } && IsOwnLocal(local);

    /// <summary>A local record other than a failure, and not one only seeded from the copy of the store's.</summary>
    private bool IsOwnLocal(SettlementRecord record) => !IsFailure(record) && !_seeded.TryGetValue(record, out _);

    private static bool IsFailure(SettlementRecord record) => record is { State: SettlementState.Finished, Success: false };

    private static bool IsSuccess(SettlementRecord? record) => record is { State: SettlementState.Finished, Success: true };

    private async ValueTask<ClaimResult> ClaimOnAsync(ISettlementStore store, SettlementIdentity identity)
    {
        for (var attempt = 0; attempt < MaxConflicts; attempt++)
        {
            var read = await store.ReadAsync(identity.Key).ConfigureAwait(false);
            var claimId = Guid.NewGuid().ToString("N");
            _unconfirmed.TryGetValue(identity.Key, out var orphan);
            var (kind, next) = SettlementTransitions.Claim(read.Record, identity, claimId, read.NowMs, (long)Policy.Lease.TotalMilliseconds, orphan);
            if (next is null)
            {
                return new ClaimResult(kind, read.Record, null);
            }

            StoredSettlement? written;
            try
            {
                written = await store.ReplaceAsync(identity.Key, read, next, Policy.KeepFor(next, identity, read.NowMs), notify: false).ConfigureAwait(false);
            }
            catch (SettlementLedgerUnavailableException)
            {
                // The claim may still land after this (a write queued behind a paused Redis): remembered, so the next
                // claim of the key here takes it over at once rather than waiting out a lease under which nothing was sent.
                if (_unconfirmed.Count < MaxUnconfirmed)
                {
                    _unconfirmed[identity.Key] = claimId;
                }

                throw;
            }

            if (written is { } stored)
            {
                _unconfirmed.TryRemove(identity.Key, out _);
                return new ClaimResult(kind, read.Record, new SettlementClaim(this, store, identity, claimId, stored));
            }
        }

        throw new SettlementLedgerUnavailableException("The settlement ledger record kept changing under concurrent claims; retry.");
    }

    [LoggerMessage(EventId = 1210, Level = LogLevel.Warning, Message = "Settlement ledger unavailable ({Reason}); settling with the local ledger (Redis:LocalSettlementFallback)")]
    private static partial void LocalFallback(ILogger logger, string reason);
}
