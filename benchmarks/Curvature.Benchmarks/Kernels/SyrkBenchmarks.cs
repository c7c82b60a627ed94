using System.Numerics;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;

namespace Curvature.Benchmarks.Kernels;

/// <summary>SYRK: lower triangle of <c>C = AᵀA</c>, A and C n × n (BLAS <c>?syrk</c> on the native backends).</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Kernel", "Syrk")]
public class SyrkBenchmarks<T> : BackendBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _a = [];
    private T[] _c = [];

    /// <summary>Creates the backend (1 thread) and the seeded operand.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CreateBackend(1);
        _a = SeededData.Uniform<T>(N * N, SeededData.SeedFor(N, 1));
        _c = new T[N * N];
    }

    /// <summary>One rank-n update of an n × n triangle.</summary>
    [Benchmark]
    public void Syrk() =>
        Kernels.SymmetricRankKUpdate(new ReadOnlySpan2D<T>(_a, N, N), RankKForm.TransposeTimesMatrix, new Span2D<T>(_c, N, N), Triangle.Lower, T.One, T.Zero);
}
