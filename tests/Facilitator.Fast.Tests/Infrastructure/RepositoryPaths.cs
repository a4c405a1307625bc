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

    /// <summary>The published AOT binary (or <c>FACILITATOR_AOT_BINARY</c>).</summary>
    public static string AotBinary { get; } = Environment.GetEnvironmentVariable("FACILITATOR_AOT_BINARY")
        ?? Path.Combine(Root, "artifacts", "aot", "Facilitator.Fast");

    /// <summary>Requires the AOT binary, published after the last change to any file of the service's sources.</summary>
    public static void RequireFreshAotBinary()
    {
        Require(File.Exists(AotBinary), $"the AOT binary {AotBinary} (eng/publish-aot.sh)");
        var sources = new DirectoryInfo(Path.Combine(Root, "src", "Facilitator.Fast"));
        var newest = sources.EnumerateFiles("*", SearchOption.AllDirectories)
            .Where(static f => !f.FullName.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.FullName.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Max(static f => f.LastWriteTimeUtc);
        Require(File.GetLastWriteTimeUtc(AotBinary) >= newest, $"an AOT binary published after the last change to src/ ({AotBinary} is older)");
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
