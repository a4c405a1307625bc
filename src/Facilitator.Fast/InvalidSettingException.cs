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
}
