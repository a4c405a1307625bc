namespace Facilitator.Fast.Dashboard;

/// <summary>Section <c>Dashboard</c>: the status page at <c>/dashboard</c>.</summary>
public sealed class DashboardOptions
{
    public const string SectionName = "Dashboard";

    public bool Enabled { get; set; } = true;

    /// <summary>How often an open page asks for the status (one request per interval per page, from the in-memory snapshot).</summary>
    public int StatusIntervalMs { get; set; } = 5000;

    /// <summary>Reads section <c>Dashboard</c>; throws <see cref="InvalidSettingException"/> naming a bad setting.</summary>
    public static DashboardOptions Load(IConfiguration configuration)
    {
        var options = new DashboardOptions();
        try
        {
            configuration.GetSection(SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidSettingException(SectionName, ex.Message.ReplaceLineEndings(" "));
        }

        if (options.StatusIntervalMs is < 1000 or > 60_000)
        {
            throw new InvalidSettingException("Dashboard:StatusIntervalMs", $"{options.StatusIntervalMs} is outside 1000..60000.");
        }

        return options;
    }
}
