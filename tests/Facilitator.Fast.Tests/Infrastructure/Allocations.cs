namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>
/// Asserts that an operation allocates nothing per call. A call that allocates does so every time; one-off runtime
/// work (tiered compilation promoting a method on the calling thread) allocates once. So the operation is warmed up
/// and then measured over several rounds, and it passes when a round allocated nothing.
/// </summary>
internal static class Allocations
{
    public static void AssertNone(Action operation, int warmup = 200, int rounds = 5, int callsPerRound = 50)
    {
        for (var i = 0; i < warmup; i++)
        {
            operation();
        }

        var fewest = long.MaxValue;
        for (var round = 0; round < rounds && fewest > 0; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < callsPerRound; i++)
            {
                operation();
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.True(fewest == 0, $"{fewest} bytes allocated in the best of {rounds} rounds of {callsPerRound} calls");
    }
}
