using System.Numerics;
using BenchmarkDotNet.Attributes;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Benchmarks.Preconditioners;

/// <summary>
/// One steady-state step of <see cref="KfacOptimizer{T}"/> on a dense layer (in = out = n, no bias, batch 256): the
/// observation (two <c>?SYRK</c> into the batch factors), the running-average update, the preconditioned gradient with the
/// cached inverse (two <c>?GEMM</c>) and the parameter update, with fixed damping and no refresh after the first step. The
/// memory diagnoser must show 0 B allocated. float64 only, to keep the suite short (the float32 kernels are measured by
/// the kernel benchmarks).
/// </summary>
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Composite", "KfacSteadyState")]
public class KfacSteadyStateStepBenchmarks<T> : BackendBenchmark<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Batch = 256;
    private KfacOptimizer<T> _optimizer = null!;
    private T[] _activations = null!;
    private T[] _gradients = null!;
    private int[] _inputShape = null!;
    private int[] _gradientShape = null!;

    /// <summary>Creates the backend and the optimizer, and takes the first step (which computes the only inverse).</summary>
    [GlobalSetup]
    public void Setup()
    {
        CreateBackend(1);
        var model = new ModelSpec([LayerSpec.Linear("fc", N, N, bias: false)]);
        var values = new ParameterSet();
        values.Add("fc.weight", SeededData.Uniform<T>(N * N, SeededData.SeedFor(N, 4)), N, N);
        var gradients = new ParameterSet();
        gradients.Add("fc.weight", SeededData.Uniform<T>(N * N, SeededData.SeedFor(N, 3)), N, N);
        _optimizer = new KfacOptimizer<T>(Kernels, model, values, gradients, new KfacOptimizerOptions
        {
            InverseUpdatePeriod = int.MaxValue,
            DampingAdaptation = DampingAdaptation.Fixed,
        });
        _activations = SeededData.Uniform<T>(Batch * N, SeededData.SeedFor(N, 1));
        _gradients = SeededData.Uniform<T>(Batch * N, SeededData.SeedFor(N, 2));
        _inputShape = [Batch, N];
        _gradientShape = [1, Batch, N];
        Step();
    }

    /// <summary>Disposes the optimizer.</summary>
    [GlobalCleanup]
    public void Cleanup() => _optimizer.Dispose();

    /// <summary>Observation (two <c>?SYRK</c>) + step with the cached inverse (two <c>?GEMM</c>).</summary>
    [Benchmark]
    public void Step()
    {
        _optimizer.Observe("fc", _activations, _inputShape, _gradients, _gradientShape);
        _optimizer.Step(double.NaN);
    }
}
