using Facilitator.Fast.Routing;
using Facilitator.Fast.Tests.Infrastructure;

namespace Facilitator.Fast.Tests.Routing;

public sealed class RetryBudgetTests
{
    [Fact]
    public void TryAcquireExtra_TenPercentOfRequestsPlusMinimum_ThenRefused()
    {
        var time = new ManualTimeProvider();
        var budget = new RetryBudget(0.1, 2, time);
        for (var i = 0; i < 100; i++)
        {
            budget.RecordRequest();
        }

        var granted = Enumerable.Range(0, 50).Count(_ => budget.TryAcquireExtra());

        Assert.Equal(12, granted);
    }

    [Fact]
    public void TryAcquireExtra_WindowSlides_BudgetReturns()
    {
        var time = new ManualTimeProvider();
        var budget = new RetryBudget(0, 3, time);
        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => budget.TryAcquireExtra()));

        time.Advance(TimeSpan.FromSeconds(11));

        Assert.True(budget.TryAcquireExtra());
    }
}
