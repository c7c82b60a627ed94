namespace Curvature.Benchmarks.Report;

/// <summary>One median: which implementation ran which kernel at which size, precision and thread count.</summary>
/// <param name="Implementation">An <see cref="Implementations"/> key, e.g. <c>curvature-openblas</c> or <c>c-mkl</c>.</param>
/// <param name="Kernel">gemm, syrk, cholinv, syevd or kfacstep.</param>
/// <param name="DType">float or double.</param>
/// <param name="N">Matrix order.</param>
/// <param name="Threads">Threads per call.</param>
/// <param name="MedianNs">Median time of one operation in nanoseconds.</param>
/// <param name="AllocatedBytes">Managed bytes allocated per operation (BenchmarkDotNet only).</param>
internal sealed record Measurement(string Implementation, string Kernel, string DType, int N, int Threads, double MedianNs, long? AllocatedBytes);

/// <summary>The key of a result cell.</summary>
internal readonly record struct CellKey(string Implementation, string Kernel, string DType, int N, int Threads);
