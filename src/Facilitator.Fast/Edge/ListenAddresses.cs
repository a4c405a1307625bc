namespace Facilitator.Fast.Edge;

/// <summary>
/// Checks the addresses the service is told to listen on when it starts, so a malformed one stops the start with one
/// line naming the setting instead of a stack trace from Kestrel when it binds.
/// </summary>
public static class ListenAddresses
{
    /// <summary>The settings that choose where the service listens, as error messages name them.</summary>
    public const string Setting = "urls (--urls, ASPNETCORE_URLS, Urls)";

    /// <summary>Stops the start on a listening address Kestrel would refuse only when it starts (with a stack trace).</summary>
    public static void Validate(string? urls)
    {
        foreach (var url in (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException)
            {
                throw new InvalidSettingException(Setting, $"'{url}' is not a listening address such as http://127.0.0.1:4020 or http://+:4020.");
            }

            // "http://127.0.0.1:abc" parses as the host "127.0.0.1:abc" on the default port; a bare IPv6 host needs brackets.
            if (!address.IsUnixPipe && (address.Port is < 0 or > 65535 || address.Scheme is not ("http" or "https")
                || (address.Host.Contains(':', StringComparison.Ordinal) && !address.Host.StartsWith('['))))
            {
                throw new InvalidSettingException(Setting, $"'{url}' needs the scheme http or https and a port from 0 to 65535.");
            }
        }
    }
}
