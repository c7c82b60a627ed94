using System.Numerics;
using BenchmarkDotNet.Attributes;
using Curvature.Benchmarks.Infrastructure;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace Curvature.Benchmarks.Peers;

/// <summary>Math.NET Numerics 5.0 managed provider, single-threaded kernels: SYRK-shaped product, Cholesky inverse, SYEVD.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Peer", "MathNet")]
public class MathNetKernelBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private MathNetWorkload<T> _work = null!;

    /// <summary>The matrix orders measured in this run.</summary>
    public static IEnumerable<int> Sizes() => BenchmarkSettings.Sizes;

    /// <summary>The matrix order.</summary>
    [ParamsSource(nameof(Sizes))]
    public int N { get; set; } = 128;

    /// <summary>Builds the operands (1 thread).</summary>
    [GlobalSetup]
    public void Setup() => _work = new MathNetWorkload<T>(N, 1);

    /// <summary>AᵀA, n × n.</summary>
    [Benchmark]
    public void Syrk() => _work.Syrk();

    /// <summary>Cholesky + solve against I.</summary>
    [Benchmark]
    public void CholeskyInverse() => _work.CholeskyInverse();

    /// <summary>Symmetric EVD.</summary>
    [Benchmark]
    public Evd<T> SymmetricEigen() => _work.SymmetricEigen();
}
