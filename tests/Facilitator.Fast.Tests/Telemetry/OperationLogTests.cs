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
    public async Task Add_ConcurrentWithReads_NeverTornRecords()
    {
        var log = new OperationLog(1);
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                i++;
                var id = w % 2 == 0 ? "even" : "odd";
                log.Add(new OperationRecord(DateTimeOffset.UnixEpoch, id, "verify", true, i, i, i, id));
            }
        })).ToArray();

        var checkedRecords = 0;
        for (var read = 0; read < 300_000; read++)
        {
            foreach (var record in log.Recent(1))
            {
                checkedRecords++;
                Assert.Equal(record.Attempt, record.StatusCode);
                Assert.Equal(record.Attempt, (int)record.DurationMs);
                Assert.Equal(record.UpstreamId, record.Error);
            }
        }

        Assert.True(checkedRecords > 0);

        await stop.CancelAsync();
        await Task.WhenAll(writers);
    }
}
