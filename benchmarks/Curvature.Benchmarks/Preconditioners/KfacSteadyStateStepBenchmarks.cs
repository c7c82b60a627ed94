using System.Numerics;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Kfac;

namespace Curvature.Benchmarks.Preconditioners;

/// <summary>
/// One steady-state step of <see cref="KfacLayerPreconditioner{T}"/> (dense layer, in = out = n, batch 256): factor
/// update + natural gradient with the cached inverse (no refresh). The memory diagnoser must show 0 B allocated.
/// float64 only, to keep the suite short (the float32 kernels are measured by the kernel benchmarks).
/// </summary>
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Composite", "KfacSteadyState")]
public class KfacSteadyStateStepBenchmarks<T> : BackendBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Batch = 256;
    private KfacLayerPreconditioner<T> _layer = null!;
    private T[] _activations = null!;
    private T[] _gradients = null!;
    private T[] _weightGradient = null!;
    private T[] _natural = null!;

    /// <summary>Creates the backend and the preconditioner, and computes its (only) inverse.</summary>
    [GlobalSetup]
    public void Setup()
    {
        CreateBackend(1);
        _layer = new KfacLayerPreconditioner<T>(Kernels, N, N, new KfacPreconditionerOptions { InverseUpdatePeriod = int.MaxValue });
        _activations = SeededData.Uniform<T>(Batch * N, SeededData.SeedFor(N, 1));
        _gradients = SeededData.Uniform<T>(Batch * N, SeededData.SeedFor(N, 2));
        _weightGradient = SeededData.Uniform<T>(N * N, SeededData.SeedFor(N, 3));
        _natural = new T[N * N];
        Step();
    }

    /// <summary>Stops the preconditioner (no worker in synchronous mode, but it is disposable).</summary>
    [GlobalCleanup]
    public void Cleanup() => _layer.Dispose();

    /// <summary>Factor update (two <c>?SYRK</c>) + natural gradient (two <c>?GEMM</c>) with the cached inverse.</summary>
    [Benchmark]
    public void Step()
    {
        _layer.Update(new ReadOnlySpan2D<T>(_activations, Batch, N), new ReadOnlySpan2D<T>(_gradients, Batch, N));
        _layer.NaturalGradient(new ReadOnlySpan2D<T>(_weightGradient, N, N), new Span2D<T>(_natural, N, N));
    }
}
