namespace Facilitator.Fast.Routing;

/// <summary>
/// Reads a secret that may be given as a value or as a file holding it (<c>..._FILE</c>, the Docker and Kubernetes
/// secrets convention), once at start. Errors name the setting and the file's path, never what the file holds.
/// </summary>
internal static class SecretSetting
{
    /// <summary>Secrets are short: a larger file is not the one meant.</summary>
    private const long MaxFileBytes = 64 * 1024;

    /// <summary>The secret, trimmed; null when neither the value nor the file is set.</summary>
    public static string? Read(string? value, string valueSetting, string? file, string fileSetting)
    {
        var hasValue = !string.IsNullOrWhiteSpace(value);
        var hasFile = !string.IsNullOrWhiteSpace(file);
        if (hasValue && hasFile)
        {
            throw new InvalidSettingException(fileSetting, $"set either {valueSetting} or {fileSetting}, not both.");
        }

        if (!hasFile)
        {
            return hasValue ? value!.Trim() : null;
        }

        var path = file!.Trim();
        string text;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > MaxFileBytes)
            {
                throw new InvalidSettingException(fileSetting, $"'{path}' is larger than {MaxFileBytes / 1024} KiB; it should hold the secret alone.");
            }

            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InvalidSettingException(fileSetting, $"'{path}' could not be read ({ex.GetType().Name}).");
        }

        return string.IsNullOrWhiteSpace(text)
            ? throw new InvalidSettingException(fileSetting, $"'{path}' is empty.")
            : text.Trim();
    }
}
