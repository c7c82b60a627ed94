using System.Numerics;
using BenchmarkDotNet.Attributes;
using Curvature.Benchmarks.Infrastructure;

namespace Curvature.Benchmarks.Preconditioners;

/// <summary>The composite K-FAC step of one dense layer (in = out = n, batch 256); see <see cref="IKfacStep"/>.</summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Composite", "KfacStep")]
public class KfacStepBenchmarks<T> : BackendBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private IKfacStep _step = null!;

    /// <summary>Threads per kernel call.</summary>
    [ParamsSource(nameof(ThreadCounts))]
    public int Threads { get; set; } = 1;

    /// <summary>Creates the backend and the layer state (all buffers).</summary>
    [GlobalSetup]
    public void Setup()
    {
        CreateBackend(Threads);
        _step = KfacStepFactory.Create<T>(Kernels, N);
    }

    /// <summary>One factor update + damped inversion + preconditioned gradient.</summary>
    [Benchmark]
    public void KfacStep() => _step.Step();
}
