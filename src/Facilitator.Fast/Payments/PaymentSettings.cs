namespace Facilitator.Fast.Payments;

/// <summary>The validated <c>Payments</c> section: fees, automatic settlement, retention and bounds.</summary>
public sealed class PaymentSettings
{
    private PaymentSettings(PaymentsOptions options, FeeSchedule fees)
    {
        Options = options;
        Fees = fees;
        AutoSettleDelay = TimeSpan.FromMilliseconds(options.AutoSettleDelayMs);
        AutoSettleMargin = TimeSpan.FromSeconds(options.AutoSettleMarginSeconds);
        SweepInterval = TimeSpan.FromMilliseconds(options.SweepIntervalMs);
        Retention = TimeSpan.FromDays(options.RetentionDays);
    }

    public PaymentsOptions Options { get; }

    public FeeSchedule Fees { get; }

    public bool AutoSettle => Options.AutoSettle;

    public TimeSpan AutoSettleDelay { get; }

    public TimeSpan AutoSettleMargin { get; }

    public TimeSpan SweepInterval { get; }

    public TimeSpan Retention { get; }

    public int BatchSize => Options.BatchSize;

    public int BatchConcurrency => Options.BatchConcurrency;

    /// <summary>Reads and validates section <c>Payments</c>; throws <see cref="InvalidSettingException"/> naming the first bad setting.</summary>
    public static PaymentSettings Load(IConfiguration configuration)
    {
        var options = new PaymentsOptions();
        try
        {
            configuration.GetSection(PaymentsOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidSettingException(PaymentsOptions.SectionName, ex.Message.ReplaceLineEndings(" "));
        }

        InvalidSettingException.ThrowIfOutOfRange("Payments:AutoSettleDelayMs", options.AutoSettleDelayMs, 0, 86_400_000);
        InvalidSettingException.ThrowIfOutOfRange("Payments:AutoSettleMarginSeconds", options.AutoSettleMarginSeconds, 0, 3600);
        InvalidSettingException.ThrowIfOutOfRange("Payments:BatchSize", options.BatchSize, 1, 1000);
        InvalidSettingException.ThrowIfOutOfRange("Payments:SweepIntervalMs", options.SweepIntervalMs, 50, 600_000);
        InvalidSettingException.ThrowIfOutOfRange("Payments:RetentionDays", options.RetentionDays, 0, 3650);
        InvalidSettingException.ThrowIfOutOfRange("Payments:BatchConcurrency", options.BatchConcurrency, 1, 100);
        if (options.MaxMemoryBytes is < 1024 * 1024 or > 64L * 1024 * 1024 * 1024)
        {
            throw new InvalidSettingException("Payments:MaxMemoryBytes", "must be between 1 MiB and 64 GiB.");
        }

        return new PaymentSettings(options, FeeSchedule.From(options));
    }
}
