using System.Buffers;
using System.Text.Json;
using Facilitator.Fast.Analytics;
using Facilitator.Fast.Events;
using Facilitator.Fast.Payments;
using Facilitator.Fast.State;

namespace Facilitator.Fast.Api;

/// <summary>
/// The data of <c>stats:update</c>: the seed's <c>FacilitatorStats</c> — the same figures as <c>GET /v1/status</c> —
/// and the upstream health summary of the status API under <c>facilitators</c>.
/// </summary>
internal sealed class StatsEventSource(AnalyticsReports reports, PaymentService payments, StatusReportBuilder status) : IStatsEventSource
{
    public async ValueTask<byte[]?> ReadAsync(CancellationToken cancellationToken)
    {
        FacilitatorStats stats;
        try
        {
            var open = await payments.CountOpenAsync().ConfigureAwait(false);
            stats = await reports.StatsAsync(open).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisConnection.IsFault(ex) || ex is PaymentStoreUnavailableException)
        {
            return null;
        }

        var summary = status.Health().Summary;
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("totalPaymentsProcessed"u8, stats.TotalPaymentsProcessed);
            writer.WriteString("totalVolumeUsd"u8, stats.TotalVolumeUsd);
            writer.WriteString("totalFeesCollected"u8, stats.TotalFeesCollected);
            writer.WriteNumber("pendingSettlements"u8, stats.PendingSettlements);
            writer.WriteNumber("averageSettlementTime"u8, stats.AverageSettlementTime);
            writer.WriteNumber("uptimePercentage"u8, stats.UptimePercentage);
            writer.WriteStartObject("networkStats"u8);
            foreach (var (id, network) in stats.NetworkStats)
            {
                writer.WriteStartObject(id);
                writer.WriteString("chainId"u8, network.ChainId);
                writer.WriteNumber("paymentsProcessed"u8, network.PaymentsProcessed);
                writer.WriteString("volumeUsd"u8, network.VolumeUsd);
                writer.WriteString("feesCollected"u8, network.FeesCollected);
                writer.WriteString("averageGasCost"u8, network.AverageGasCost);
                writer.WriteNumber("lastSettlement"u8, network.LastSettlement);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteStartObject("facilitators"u8);
            writer.WriteNumber("total"u8, summary.Total);
            writer.WriteNumber("healthy"u8, summary.Healthy);
            writer.WriteNumber("unhealthy"u8, summary.Unhealthy);
            writer.WriteNumber("disabled"u8, summary.Disabled);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
