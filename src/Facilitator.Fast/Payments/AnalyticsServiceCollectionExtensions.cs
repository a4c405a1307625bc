using Facilitator.Fast.Health;
using Facilitator.Fast.Settlement;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Facilitator.Fast.Payments;

/// <summary>Registers the settlement analytics: the observer, its writer, the uptime tracker and the reports.</summary>
internal static class AnalyticsServiceCollectionExtensions
{
    /// <summary>
    /// Call after <c>AddFacilitatorState</c> (which registers the <c>IAnalyticsStore</c>) and before the settlement drain
    /// is registered: hosted services stop in reverse order, so the writer then flushes after the last settle finished
    /// and before the Redis connection closes. The fee schedule is read from <c>Payments</c> unless already registered.
    /// </summary>
    public static IServiceCollection AddSettlementAnalytics(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new PaymentsOptions();
        try
        {
            configuration.GetSection(PaymentsOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidSettingException("configuration", ex.Message.ReplaceLineEndings(" "));
        }

        services.TryAddSingleton(FeeSchedule.From(options));
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
