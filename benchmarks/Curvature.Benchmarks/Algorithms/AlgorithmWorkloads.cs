using Curvature.Benchmarks.Infrastructure;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// The layers shared by the algorithm benchmarks: the Conv2d layer of the K-FAC issue (64 → 64 channels, 3 × 3,
/// padding 1, 32 × 32 images, batch 32), a smaller Conv2d layer (16 → 32, 16 × 16, batch 32) on which EKFAC's Gramian
/// correction is also affordable, and the dense-layer sizes.
/// </summary>
internal static class AlgorithmWorkloads
{
    /// <summary>Examples per dense-layer batch (EKFAC issue: 256).</summary>
    public const int DenseBatch = 256;

    /// <summary>The dense-layer orders of the issues (in = out = n).</summary>
    public static readonly int[] DenseSizes = [256, 512, 1024];

    /// <summary>The K-FAC issue's Conv2d layer: 64 → 64, 3 × 3, padding 1, 32 × 32 images, batch 32 (A is 577², G is 64²).</summary>
    public static ConvWorkload IssueConv { get; } = new("c64", 64, 64, 32, 32);

    /// <summary>A smaller Conv2d layer: 16 → 32, 3 × 3, padding 1, 16 × 16 images, batch 32 (A is 145², G is 32²).</summary>
    public static ConvWorkload SmallConv { get; } = new("c16", 16, 32, 16, 32);

    /// <summary>The workload of the given <see cref="ConvWorkload.Name"/>.</summary>
    public static ConvWorkload Conv(string name) =>
        name == IssueConv.Name ? IssueConv : name == SmallConv.Name ? SmallConv : throw new ArgumentException($"Unknown Conv2d workload '{name}'.", nameof(name));

    /// <summary>The dense-layer sizes of this run: <c>--sizes</c> if given, else 256, 512, 1024.</summary>
    public static IEnumerable<int> DenseSizesOfRun() => BenchmarkSettings.SizesOverride ?? DenseSizes;
}
