using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using Curvature.Benchmarks.Infrastructure;
using Perfolizer.Horology;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// Shortens the shared job for the algorithm benchmarks (1 warm-up and 3 measured iterations of at least 50 ms instead
/// of 1 + 5 × 100 ms), so the whole Algorithms set stays within a few minutes on 2 cores. It mutates the job of
/// <see cref="CurvatureBenchmarkConfig"/> rather than adding a second one; in <c>--quick</c> mode the quick job
/// (3 × 25 ms) is kept.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class AlgorithmJobAttribute : JobMutatorConfigBaseAttribute
{
    /// <summary>Creates the mutator for the current run mode.</summary>
    public AlgorithmJobAttribute()
        : base(CreateJob())
    {
    }

    private static Job CreateJob() => BenchmarkSettings.Quick
        ? new Job().WithWarmupCount(1).WithIterationCount(3).WithIterationTime(TimeInterval.FromMilliseconds(25))
        : new Job().WithWarmupCount(1).WithIterationCount(3).WithIterationTime(TimeInterval.FromMilliseconds(50));
}
