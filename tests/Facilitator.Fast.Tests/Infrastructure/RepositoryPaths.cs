namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>Where the repository and its build outputs are, found from the test binary's location.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>True when running under CI, where a missing prerequisite is a failure, never a skip.</summary>
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Fails under CI, skips elsewhere, with what to run to provide the prerequisite.</summary>
    public static void Require(bool present, string what)
    {
        if (present)
        {
            return;
        }

        if (InCi)
        {
            Assert.Fail($"{what} is missing; the test command (./test.sh) provides it.");
        }

        Assert.Skip($"{what} is missing; run ./test.sh, which provides it.");
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Facilitator.Fast.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Facilitator.Fast.sln not found above " + AppContext.BaseDirectory);
    }
}
