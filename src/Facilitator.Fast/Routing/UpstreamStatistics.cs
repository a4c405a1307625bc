using Facilitator.Fast.Protocol;
using Facilitator.Fast.Telemetry;

namespace Facilitator.Fast.Routing;

/// <summary>Per-upstream counters behind the status API: operations, results and latency. Interlocked, no locks.</summary>
public sealed class UpstreamStatistics
{
    private readonly long[] _operations = new long[FacilitatorOperations.Count];
    private long _successes;
    private long _failures;
    private long _totalMicroseconds;

    private long _becameUnhealthy;
    private long _recovered;
    private long _hedgesFired;
    private long _hedgesWon;
    private long _budgetRefusals;

    /// <summary>Hedged requests this upstream received because the one before it was slow.</summary>
    public long HedgesFired => Volatile.Read(ref _hedgesFired);

    /// <summary>Of those, the ones whose answer was used.</summary>
    public long HedgesWon => Volatile.Read(ref _hedgesWon);

    /// <summary>Retries or hedges towards this upstream that the budget refused.</summary>
    public long BudgetRefusals => Volatile.Read(ref _budgetRefusals);

    /// <summary>Latency of the last windows, for the hedge delay.</summary>
    public RecentLatency Recent { get; } = new(TimeSpan.FromSeconds(30));

    public void RecordHedgeFired() => Interlocked.Increment(ref _hedgesFired);

    public void RecordHedgeWon() => Interlocked.Increment(ref _hedgesWon);

    public void RecordBudgetRefusal() => Interlocked.Increment(ref _budgetRefusals);

    public LatencyHistogram Latency { get; } = new();

    /// <summary>Times this upstream was marked unhealthy.</summary>
    public long BecameUnhealthy => Volatile.Read(ref _becameUnhealthy);

    /// <summary>Times it became healthy again.</summary>
    public long Recovered => Volatile.Read(ref _recovered);

    public void RecordTransition(bool healthy) => Interlocked.Increment(ref healthy ? ref _recovered : ref _becameUnhealthy);

    public long Successes => Volatile.Read(ref _successes);

    public long Failures => Volatile.Read(ref _failures);

    public long Operations(FacilitatorOperation operation) => Volatile.Read(ref _operations[(int)operation]);

    public long TotalOperations
    {
        get
        {
            long total = 0;
            for (var i = 0; i < _operations.Length; i++)
            {
                total += Volatile.Read(ref _operations[i]);
            }

            return total;
        }
    }

    /// <summary>Mean latency of all recorded calls in milliseconds; 0 before the first.</summary>
    public double AverageMilliseconds
    {
        get
        {
            var count = Latency.Count;
            return count == 0 ? 0 : Volatile.Read(ref _totalMicroseconds) / (double)count / 1000.0;
        }
    }

    public void Record(FacilitatorOperation operation, bool success, long microseconds, DateTimeOffset now)
    {
        if (success)
        {
            Recent.Record(microseconds, now);
        }

        Interlocked.Increment(ref _operations[(int)operation]);
        Interlocked.Increment(ref success ? ref _successes : ref _failures);
        Interlocked.Add(ref _totalMicroseconds, microseconds);
        Latency.Record(microseconds);
    }
}
