using Facilitator.Fast.Telemetry;

namespace Facilitator.Fast.Tests.Telemetry;

public sealed class OperationLogTests
{
    private static OperationRecord Record(int n) => new(DateTimeOffset.UnixEpoch, $"u{n}", "verify", true, 1, 200, n, null);

    [Fact]
    public void Recent_MoreThanCapacityAdded_NewestFirstBounded()
    {
        var log = new OperationLog(4);
        for (var i = 1; i <= 10; i++)
        {
            log.Add(Record(i));
        }

        Assert.Equal(["u10", "u9", "u8", "u7"], log.Recent(100).Select(r => r.UpstreamId));
        Assert.Equal(["u10", "u9"], log.Recent(2).Select(r => r.UpstreamId));
        Assert.Equal(10, log.TotalRecorded);
    }

    [Fact]
    public void Recent_FewerThanCapacity_OnlyThose()
    {
        var log = new OperationLog(100);
        log.Add(Record(1));

        Assert.Single(log.Recent(50));
    }

    [Fact]
    public async Task Add_ConcurrentWithReads_RecordsConsistentAndLastOneKept()
    {
        const int WritesPerWriter = 200_000;
        var log = new OperationLog(1);
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
        {
            for (var i = 1; i <= WritesPerWriter; i++)
            {
                var id = i % 2 == 0 ? "even" : "odd";
                log.Add(new OperationRecord(DateTimeOffset.UnixEpoch, id, "verify", true, i, i, i, id));
            }
        })).ToArray();

        while (!writers.All(w => w.IsCompleted))
        {
            foreach (var record in log.Recent(1))
            {
                AssertConsistent(record);
            }
        }

        await Task.WhenAll(writers);
        Assert.Equal(2 * WritesPerWriter, log.TotalRecorded);
        log.Add(new OperationRecord(DateTimeOffset.UnixEpoch, "even", "settle", true, 2, 2, 2, "even"));
        var last = Assert.Single(log.Recent(1));
        AssertConsistent(last);
        Assert.Equal("settle", last.Operation);
    }

    private static void AssertConsistent(OperationRecord record)
    {
        Assert.Equal(record.Attempt, record.StatusCode);
        Assert.Equal(record.Attempt, (int)record.DurationMs);
        Assert.Equal(record.UpstreamId, record.Error);
        Assert.Equal(record.Attempt % 2 == 0 ? "even" : "odd", record.UpstreamId);
    }
}
