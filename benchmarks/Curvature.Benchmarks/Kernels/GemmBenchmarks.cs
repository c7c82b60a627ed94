using System.Numerics;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;

namespace Curvature.Benchmarks.Kernels;

/// <summary>GEMM: <c>C = A·B</c>, all n × n, row-major (BLAS <c>?gemm</c> on the native backends).</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Kernel", "Gemm")]
public class GemmBenchmarks<T> : BackendBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _a = [];
    private T[] _b = [];
    private T[] _c = [];

    /// <summary>Threads per kernel call.</summary>
    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    /// <summary>Creates the backend and the seeded operands.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CreateBackend(Threads);
        _a = SeededData.Uniform<T>(N * N, SeededData.SeedFor(N, 1));
        _b = SeededData.Uniform<T>(N * N, SeededData.SeedFor(N, 2));
        _c = new T[N * N];
    }

    /// <summary>One n × n × n matrix product.</summary>
    [Benchmark]
    public void Gemm() =>
        Kernels.MatrixMultiply(new ReadOnlySpan2D<T>(_a, N, N), Transpose.None, new ReadOnlySpan2D<T>(_b, N, N), Transpose.None, new Span2D<T>(_c, N, N), T.One, T.Zero);
}
