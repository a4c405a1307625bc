using Facilitator.Fast.Health;
using Facilitator.Fast.Payments;
using Facilitator.Fast.Settlement;

namespace Facilitator.Fast.Analytics;

/// <summary>Registers the settlement analytics: the observer, its writer, the uptime tracker and the reports.</summary>
internal static class AnalyticsServiceCollectionExtensions
{
    /// <summary>
    /// Call after <c>AddFacilitatorState</c> (which registers the <c>IAnalyticsStore</c>) and before the settlement drain
    /// is registered: hosted services stop in reverse order, so the writer then flushes after the last settle finished
    /// and before the Redis connection closes. Fees are those of the <c>Payments</c> settings, as for <c>/v1</c> records.
    /// </summary>
    public static IServiceCollection AddSettlementAnalytics(this IServiceCollection services, PaymentSettings payments)
    {
        services.AddSingleton(payments.Fees);
        services.AddSingleton<SettlementAnalytics>();
        services.AddSingleton<ISettlementObserver>(static sp => sp.GetRequiredService<SettlementAnalytics>());
        services.AddSingleton<AnalyticsWriter>();
        services.AddHostedService(static sp => sp.GetRequiredService<AnalyticsWriter>());
        services.AddSingleton<UptimeTracker>();
        services.AddHostedService(static sp => sp.GetRequiredService<UptimeTracker>());
        services.AddSingleton<AnalyticsReports>();
        return services;
    }
}
