using Facilitator.Fast.Settlement;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Facilitator.Fast.Tests.Settlement;

/// <summary>Outcome writes retried while the ledger is away are bounded by count and by the bytes they hold.</summary>
public sealed class SettlementOutcomeRetriesTests
{
    private static SettlementOutcomeRetries Retries(TimeProvider time) => new(time, NullLogger<SettlementOutcomeRetries>.Instance);

    private static Func<ValueTask<bool>> Unavailable() => () => throw new SettlementLedgerUnavailableException("the ledger is away");

    [Fact]
    public void Schedule_PastTheByteBudget_NotRetriedAndNothingHeld()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        using var retries = Retries(time);

        retries.Schedule(Unavailable(), "finished (success)", "a", SettlementOutcomeRetries.MaxRetainedBytes - 1000);
        retries.Schedule(Unavailable(), "finished (success)", "a", 2000);
        retries.Schedule(Unavailable(), "pending", "a", 500);

        // The second would have held more than the budget (ten thousand megabyte answers would be gigabytes): refused;
        // the third fits beside the first.
        Assert.Equal(2, retries.Pending);
        Assert.Equal(SettlementOutcomeRetries.MaxRetainedBytes - 500, retries.RetainedBytes);
    }

    [Fact]
    public async Task Schedule_WriteLands_ItsBytesAreGivenBack()
    {
        using var retries = Retries(TimeProvider.System);
        var away = true;
        retries.Schedule(() => away ? throw new SettlementLedgerUnavailableException("away") : ValueTask.FromResult(true), "finished (success)", "a", 4096);
        Assert.Equal(4096, retries.RetainedBytes);

        away = false;
        await Eventually.TrueAsync(() => retries.Landed == 1, "the retry landed");

        Assert.Equal(0, retries.Pending);
        Assert.Equal(0, retries.RetainedBytes);
    }
}
