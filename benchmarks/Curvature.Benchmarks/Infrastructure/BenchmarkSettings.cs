namespace Curvature.Benchmarks.Infrastructure;

/// <summary>
/// Run-wide choices made on the command line before BenchmarkDotNet starts (see <see cref="Program"/>):
/// the matrix orders, the backends, the thread counts and whether the short smoke-test job is used.
/// </summary>
/// <remarks>Read by the <c>[ParamsSource]</c> members of the benchmark classes. BenchmarkDotNet evaluates those in
/// the host process only and writes the chosen values into each generated benchmark process as literals, so
/// these settings never need to reach the child processes.</remarks>
internal static class BenchmarkSettings
{
    /// <summary>The matrix orders of the full run (issue #2 item 8).</summary>
    public static readonly int[] FullSizes = [128, 256, 512, 1024];

    /// <summary>The orders of the quick (smoke-test) run.</summary>
    public static readonly int[] QuickSizes = [128];

    /// <summary>Whether the short smoke-test job and sizes are used.</summary>
    public static bool Quick { get; set; }

    /// <summary>Orders chosen with <c>--sizes</c>, or null for the default of the mode.</summary>
    public static int[]? SizesOverride { get; set; }

    /// <summary>Backend names chosen with <c>--backends</c>.</summary>
    public static string[] RequestedBackends { get; set; } = ["managed", "openblas", "mkl"];

    /// <summary>Thread counts chosen with <c>--threads</c> (applies to the threaded benchmarks: GEMM and the K-FAC step).</summary>
    public static int[] Threads { get; set; } = [1, 2];

    /// <summary>The matrix orders of this run.</summary>
    public static int[] Sizes => SizesOverride ?? (Quick ? QuickSizes : FullSizes);
}
