using System.Numerics;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;

namespace Curvature.Benchmarks.Kernels;

/// <summary>
/// Cholesky inverse of an SPD matrix: copy, then <c>CholeskyFactor</c> + <c>CholeskyInverse</c> (LAPACK <c>?potrf</c> +
/// <c>?potri</c> and a mirror to the full symmetric result on the native backends).
/// </summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Kernel", "CholeskyInverse")]
public class CholeskyInverseBenchmarks<T> : BackendBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _spd = [];
    private T[] _work = [];

    /// <summary>Creates the backend (1 thread) and the seeded SPD matrix.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CreateBackend(1);
        _spd = SeededData.SymmetricPositiveDefinite<T>(N, SeededData.SeedFor(N, 3));
        _work = new T[N * N];
    }

    /// <summary>One copy + factor + inverse (the copy is O(n²), included in the C baseline too).</summary>
    [Benchmark]
    public void CholeskyInverse()
    {
        _spd.AsSpan().CopyTo(_work);
        var a = new Span2D<T>(_work, N, N);
        Kernels.CholeskyFactor(a, Triangle.Lower);
        Kernels.CholeskyInverse(a, Triangle.Lower);
    }
}
