using System.Numerics;
using BenchmarkDotNet.Attributes;
using Curvature.Benchmarks.Infrastructure;

namespace Curvature.Benchmarks.Peers;

/// <summary>Math.NET Numerics 5.0 managed provider, benchmarks with a thread-count parameter: GEMM and the K-FAC step.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Peer", "MathNet")]
public class MathNetThreadedBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private MathNetWorkload<T> _work = null!;

    /// <summary>The matrix orders measured in this run.</summary>
    public static IEnumerable<int> Sizes() => BenchmarkSettings.Sizes;

    /// <summary>The thread counts measured in this run.</summary>
    public static IEnumerable<int> ThreadCounts() => BenchmarkSettings.Threads;

    /// <summary>The matrix order.</summary>
    [ParamsSource(nameof(Sizes))]
    public int N { get; set; } = 128;

    /// <summary>Math.NET's MaxDegreeOfParallelism.</summary>
    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    /// <summary>Builds the operands and sets the parallelism.</summary>
    [GlobalSetup]
    public void Setup() => _work = new MathNetWorkload<T>(N, Threads);

    /// <summary>C = A·B.</summary>
    [Benchmark]
    public void Gemm() => _work.Gemm();

    /// <summary>The K-FAC step.</summary>
    [Benchmark]
    public void KfacStep() => _work.KfacStep();
}
