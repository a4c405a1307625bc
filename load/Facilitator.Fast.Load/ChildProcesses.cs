using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Facilitator.Fast.Load;

/// <summary>
/// The processes a run started (service instances, redis-server): killed when the run is interrupted (Ctrl-C,
/// SIGTERM, SIGHUP), and the run ends there, so none outlives it and no clean-up races the kill.
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> s_running = new();
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

        Console.Error.WriteLine($"{context.Signal}: {s_running.Count} child processes killed.");
        context.Cancel = true;
        Environment.Exit(130);
    }
}
