namespace Facilitator.Fast;

/// <summary>
/// A setting that stops the service from starting. The message is one line that names the setting (its
/// configuration key and, where one exists, the environment variable), so an operator can fix it without a stack trace.
/// </summary>
public sealed class InvalidSettingException : Exception
{
    public InvalidSettingException(string setting, string problem)
        : base($"Invalid setting {setting}: {problem}")
    {
        Setting = setting;
    }

    public string Setting { get; }

    /// <summary>Stops the start when <paramref name="value"/> is outside <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static void ThrowIfOutOfRange(string setting, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new InvalidSettingException(setting, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{value} is outside {min}..{max}."));
        }
    }
}
