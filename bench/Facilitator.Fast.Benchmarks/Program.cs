using System.Reflection;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Facilitator.Fast.Benchmarks;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project bench/Facilitator.Fast.Benchmarks -- --filter '*'</c>.
/// With <c>--ci</c>, every benchmark runs once with a short in-process job, to keep them compiling and running, and
/// the run fails when a benchmark marked <see cref="ZeroAllocationAttribute"/> allocates.
/// </summary>
/// <remarks>
/// Allocating anything per operation means at least one object (24 B or more); the short run's few operations can
/// show a byte or two per operation of the runtime's own background work, so under 8 B counts as none.
/// </remarks>
public static class Program
{
    private const long NoiseBytesPerOperation = 8;

    public static int Main(string[] args)
    {
        if (!args.Contains("--ci"))
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
            return 0;
        }

        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(3)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(100));
        var config = DefaultConfig.Instance.AddJob(job).AddDiagnoser(MemoryDiagnoser.Default).WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var summaries = BenchmarkRunner.Run(typeof(Program).Assembly, config);

        var failures = new List<string>();
        foreach (var summary in summaries)
        {
            foreach (var report in summary.Reports)
            {
                var method = report.BenchmarkCase.Descriptor.WorkloadMethod;
                var allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
                if (!report.Success)
                {
                    failures.Add($"{report.BenchmarkCase.DisplayInfo}: did not run");
                }
                else if (method.GetCustomAttribute<ZeroAllocationAttribute>() is not null && allocated >= NoiseBytesPerOperation)
                {
                    failures.Add($"{report.BenchmarkCase.DisplayInfo}: allocates {allocated} B per operation");
                }
            }
        }

        foreach (var failure in failures)
        {
            Console.Error.WriteLine("FAIL " + failure);
        }

        Console.WriteLine(failures.Count == 0 ? "bench: no zero-allocation benchmark allocated per operation" : $"bench: {failures.Count} failures");
        return failures.Count == 0 ? 0 : 1;
    }
}
