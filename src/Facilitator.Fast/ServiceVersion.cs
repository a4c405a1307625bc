using System.Reflection;

namespace Facilitator.Fast;

/// <summary>The service's version, as the build stamped it (the project's <c>Version</c>), for <c>GET /</c> and <c>/v1/status</c>.</summary>
public static class ServiceVersion
{
    public static string Current { get; } = Read();

    private static string Read()
    {
        var informational = typeof(ServiceVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational))
        {
            return "0.0.0";
        }

        // The SDK appends "+<commit>" when it knows one; the version alone is what callers compare.
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? informational : informational[..plus];
    }
}
