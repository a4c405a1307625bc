using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Facilitator.Fast.Load;

/// <summary>
/// The processes a run started (service instances, redis-server): killed when the run is interrupted (Ctrl-C,
/// SIGTERM, SIGHUP), and the run ends there, so none outlives it and no clean-up races the kill; the scratch
/// directories it made (Redis's append-only file) are removed then too.
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> s_running = new();
    private static readonly ConcurrentDictionary<string, byte> s_directories = new(StringComparer.Ordinal);
    private static readonly PosixSignalRegistration[] s_registrations =
    [
        PosixSignalRegistration.Create(PosixSignal.SIGINT, KillAll),
        PosixSignalRegistration.Create(PosixSignal.SIGTERM, KillAll),
        PosixSignalRegistration.Create(PosixSignal.SIGHUP, KillAll),
    ];

    public static void Track(Process process)
    {
        _ = s_registrations;
        s_running[process.Id] = process;
    }

    public static void Forget(Process process) => s_running.TryRemove(process.Id, out _);

    /// <summary>A scratch directory of the run, removed if the run is interrupted.</summary>
    public static void Track(string directory)
    {
        _ = s_registrations;
        s_directories[directory] = 0;
    }

    public static void Forget(string directory) => s_directories.TryRemove(directory, out _);

    private static void KillAll(PosixSignalContext context)
    {
        foreach (var process in s_running.Values)
        {
            try
            {
                // SIGKILL ends a stopped (SIGSTOP) redis-server too.
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
        }

        foreach (var process in s_running.Values)
        {
            try
            {
                process.WaitForExit(TimeSpan.FromSeconds(5));
            }
            catch (InvalidOperationException)
            {
            }
        }

        foreach (var directory in s_directories.Keys)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        Console.Error.WriteLine($"{context.Signal}: {s_running.Count} child processes killed.");
        context.Cancel = true;
        Environment.Exit(130);
    }
}
