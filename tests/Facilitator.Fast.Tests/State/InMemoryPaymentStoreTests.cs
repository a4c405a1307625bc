using Facilitator.Fast.Payments;
using Facilitator.Fast.State;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.State;

/// <summary>The embedded payment store: one record per id, compare-and-set transitions, the due queue, and its bound.</summary>
public sealed class InMemoryPaymentStoreTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    internal static PaymentRecord Record(Guid id, string fingerprint = "a", PaymentStatus status = PaymentStatus.Verified, int requestBytes = 1000, long? validBefore = null) =>
        new(id, status, Sha256Hash.Of(System.Text.Encoding.ASCII.GetBytes(fingerprint)), "0xpayer", "0xpayee", "1.5", "1500000",
            "0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", 6, "eip155:84532", "0.0015", "up", null, null,
            Start.ToUnixTimeMilliseconds(), null, null, validBefore ?? Start.ToUnixTimeSeconds() + 3600, status == PaymentStatus.Verified ? new byte[requestBytes] : null);

    [Fact]
    public async Task Create_SameIdTwice_SecondGetsTheFirst()
    {
        var store = new InMemoryPaymentStore(new ManualTimeProvider(Start), 1 << 20, TimeSpan.FromDays(1));
        var id = Guid.NewGuid();

        var first = await store.CreateAsync(Record(id), TimeSpan.Zero);
        var second = await store.CreateAsync(Record(id, "b"), TimeSpan.Zero);

        Assert.Equal(PaymentCreateOutcome.Created, first.Outcome);
        Assert.Equal(PaymentCreateOutcome.Existing, second.Outcome);
        Assert.Equal(Sha256Hash.Of("a"u8), second.Record!.Fingerprint);
    }

    [Fact]
    public async Task Create_OverAFailedRecordOfAnotherAuthorization_Replaces()
    {
        var store = new InMemoryPaymentStore(new ManualTimeProvider(Start), 1 << 20, TimeSpan.FromDays(1));
        var id = Guid.NewGuid();
        await store.CreateAsync(Record(id), TimeSpan.Zero);
        await store.TransitionAsync(PaymentTransitions.AllowedBefore(PaymentStatus.Failed, sent: true), Record(id, status: PaymentStatus.Failed));

        var replaced = await store.CreateAsync(Record(id, "b"), TimeSpan.Zero);

        Assert.Equal(PaymentCreateOutcome.Created, replaced.Outcome);
        Assert.Equal(Sha256Hash.Of("b"u8), (await store.GetAsync(id))!.Fingerprint);
    }

    [Fact]
    public async Task Transition_FromAStatusNotAllowed_RefusedWithWhatIsStored()
    {
        var store = new InMemoryPaymentStore(new ManualTimeProvider(Start), 1 << 20, TimeSpan.FromDays(1));
        var id = Guid.NewGuid();
        await store.CreateAsync(Record(id), TimeSpan.Zero);
        await store.TransitionAsync(PaymentTransitions.AllowedBefore(PaymentStatus.Settled, sent: true), Record(id, status: PaymentStatus.Settled));

        var back = await store.TransitionAsync(PaymentTransitions.AllowedBefore(PaymentStatus.Settling, sent: true), Record(id, status: PaymentStatus.Settling));
        var expire = await store.TransitionAsync(PaymentTransitions.AllowedBefore(PaymentStatus.Expired, sent: false), Record(id, status: PaymentStatus.Expired));

        Assert.False(back.Applied);
        Assert.False(expire.Applied);
        Assert.Equal(PaymentStatus.Settled, back.Current!.Status);
    }

    [Fact]
    public async Task TakeDue_TakenOnceUntilTheLeaseLapses()
    {
        var time = new ManualTimeProvider(Start);
        var store = new InMemoryPaymentStore(time, 1 << 20, TimeSpan.FromDays(1));
        var id = Guid.NewGuid();
        await store.CreateAsync(Record(id), TimeSpan.FromSeconds(5));

        Assert.Empty(await store.TakeDueAsync(10, TimeSpan.FromSeconds(30)));
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal([id], await store.TakeDueAsync(10, TimeSpan.FromSeconds(30)));
        Assert.Empty(await store.TakeDueAsync(10, TimeSpan.FromSeconds(30)));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal([id], await store.TakeDueAsync(10, TimeSpan.FromSeconds(30)));
        await store.CompleteAsync(id);
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty(await store.TakeDueAsync(10, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await store.CountOpenAsync());
    }

    [Fact]
    public async Task Create_FullOfOpenPayments_RefusedNeverDropped()
    {
        var store = new InMemoryPaymentStore(new ManualTimeProvider(Start), 10 * 2000, TimeSpan.FromDays(1));
        var created = new List<Guid>();
        PaymentCreateResult last;
        do
        {
            var id = Guid.NewGuid();
            last = await store.CreateAsync(Record(id), TimeSpan.Zero);
            if (last.Outcome == PaymentCreateOutcome.Created)
            {
                created.Add(id);
            }
        }
        while (last.Outcome == PaymentCreateOutcome.Created);

        Assert.Equal(PaymentCreateOutcome.Full, last.Outcome);
        Assert.True(created.Count > 1);
        foreach (var id in created)
        {
            Assert.NotNull(await store.GetAsync(id));
        }

        Assert.True(store.Bytes <= 10 * 2000);
    }

    [Fact]
    public async Task Create_FullWithFinalPayments_OldestFinalDroppedToMakeRoom()
    {
        var store = new InMemoryPaymentStore(new ManualTimeProvider(Start), 4 * 2000, TimeSpan.FromDays(1));
        var settled = Guid.NewGuid();
        await store.CreateAsync(Record(settled), TimeSpan.Zero);
        await store.TransitionAsync(PaymentTransitions.AllowedBefore(PaymentStatus.Settled, sent: true), Record(settled, status: PaymentStatus.Settled));

        for (var i = 0; i < 8; i++)
        {
            await store.CreateAsync(Record(Guid.NewGuid()), TimeSpan.Zero);
        }

        Assert.Null(await store.GetAsync(settled));
    }

    [Fact]
    public async Task FinalRecords_DroppedRetentionAfterValidBefore()
    {
        var time = new ManualTimeProvider(Start);
        var store = new InMemoryPaymentStore(time, 1 << 20, TimeSpan.FromDays(1));
        var id = Guid.NewGuid();
        await store.CreateAsync(Record(id), TimeSpan.Zero);
        await store.TransitionAsync(PaymentTransitions.AllowedBefore(PaymentStatus.Settled, sent: true), Record(id, status: PaymentStatus.Settled));

        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        await store.TakeDueAsync(1, TimeSpan.FromSeconds(1));

        Assert.Null(await store.GetAsync(id));
    }
}
