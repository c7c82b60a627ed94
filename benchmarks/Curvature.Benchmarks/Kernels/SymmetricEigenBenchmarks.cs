using System.Numerics;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Curvature.Backends;
using Curvature.Benchmarks.Infrastructure;

namespace Curvature.Benchmarks.Kernels;

/// <summary>Symmetric eigendecomposition with eigenvectors: copy, then <c>SymmetricEigen</c> (LAPACK <c>?syevd</c>).</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Kernel", "SymmetricEigen")]
public class SymmetricEigenBenchmarks<T> : BackendBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _spd = [];
    private T[] _work = [];
    private T[] _eigenvalues = [];

    /// <summary>Creates the backend (1 thread) and the seeded symmetric matrix.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CreateBackend(1);
        _spd = SeededData.SymmetricPositiveDefinite<T>(N, SeededData.SeedFor(N, 3));
        _work = new T[N * N];
        _eigenvalues = new T[N];
    }

    /// <summary>One copy + eigendecomposition (eigenvalues and eigenvectors).</summary>
    [Benchmark]
    public void SymmetricEigen()
    {
        _spd.AsSpan().CopyTo(_work);
        Kernels.SymmetricEigen(new Span2D<T>(_work, N, N), Triangle.Lower, _eigenvalues);
    }
}
