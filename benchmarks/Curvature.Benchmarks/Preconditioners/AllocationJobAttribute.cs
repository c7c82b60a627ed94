using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using Perfolizer.Horology;

namespace Curvature.Benchmarks.Preconditioners;

/// <summary>
/// The job of an allocation claim: no tiered compilation (<c>DOTNET_TieredCompilation=0</c>: every method is compiled once,
/// fully optimised, before its first call) and iterations of at least 500 ms. The memory diagnoser counts the bytes
/// allocated by every thread of the process during one iteration and divides by its operations: with tiering the
/// runtime's background recompilation of rarely run paths (a refresh every tenth step) allocates during the measured
/// iterations, and in short iterations a few hundred bytes the runtime allocates once in a while show up as several bytes
/// per operation. Both are the process's, not the step's (the test suite measures the step's own thread exactly).
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class AllocationJobAttribute : JobMutatorConfigBaseAttribute
{
    /// <summary>Creates the mutator.</summary>
    public AllocationJobAttribute()
        : base(new Job()
            .WithEnvironmentVariable("DOTNET_TieredCompilation", "0")
            .WithIterationTime(TimeInterval.FromMilliseconds(500)))
    {
    }
}
