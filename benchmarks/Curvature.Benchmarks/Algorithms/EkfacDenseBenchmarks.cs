using System.Numerics;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// EKFAC in a training loop (<see cref="EkfacOptimizer{T}"/>) on one dense layer (in = out = n, no bias, batch 256): a
/// step that refreshes the eigenbasis (eigenbasis period 1: the observation's two SYRKs, the running factors, the batch
/// scalings in the current basis, SYEVD of the n × n factors A and G, and the preconditioned gradient) and the application
/// <c>Q_G ((Q_Gᵀ ∇ Q_A) / (s + λ)) Q_Aᵀ</c> alone (<c>Precondition</c> without a new observation or refresh: four GEMMs plus
/// the copies of the bound gradient).
/// </summary>
/// <remarks>
/// For n ≥ 512 the factors of a single 256-example batch are rank-deficient (rank ≤ 256); the eigensolver must cope
/// with that. Double only (float costs another 18 cases; the kernels' float speed is in <c>Kernels/</c>). Fixed damping
/// λ = 1e-3 and no KL clipping, so that the set-up check can rebuild the gradient exactly.
/// </remarks>
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Algorithms", "Ekfac", "Dense")]
[AlgorithmJob]
public class EkfacDenseBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double Damping = 1e-3;
    private EkfacOptimizer<T> _refreshing = null!;
    private EkfacOptimizer<T> _applying = null!;
    private T[] _activations = [];
    private T[] _outputGradients = [];
    private T[] _weightGradient = [];
    private Memory<T> _refreshingGradient;
    private Memory<T> _applyingGradient;
    private int[] _inputShape = [];
    private int[] _gradientShape = [];

    /// <summary>The backends measured in this run.</summary>
    public static IEnumerable<string> Backends() => BenchmarkBackends.Available;

    /// <summary>The layer orders of this run (256, 512, 1024 unless <c>--sizes</c>).</summary>
    public static IEnumerable<int> Sizes() => AlgorithmWorkloads.DenseSizesOfRun();

    /// <summary>The backend under test.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    /// <summary>The layer order n (in = out = n).</summary>
    [ParamsSource(nameof(Sizes))]
    public int N { get; set; } = 256;

    /// <summary>Creates two optimizers (eigenbasis every step, and once), takes one step with each, and checks them.</summary>
    [GlobalSetup]
    public void Setup()
    {
        int n = N, batch = AlgorithmWorkloads.DenseBatch;
        var backend = BenchmarkBackends.Create(Backend, 1);
        _activations = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 40));
        _outputGradients = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 41));
        for (int i = 0; i < _outputGradients.Length; i++)
        {
            _outputGradients[i] /= T.CreateChecked(batch); // gradients of a mean loss carry 1/B
        }
        _weightGradient = SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 42));
        _inputShape = [batch, n];
        _gradientShape = [1, batch, n];
        (_refreshing, _refreshingGradient) = Create(backend, period: 1);
        (_applying, _applyingGradient) = Create(backend, period: int.MaxValue);
        UpdateWithEigenbasisRefresh();
        Verify(_refreshing, _refreshingGradient.Span);
        _applying.Observe("fc", _activations, _inputShape, _outputGradients, _gradientShape);
        Apply(); // the first call folds the observation in and computes the eigenbasis
        Verify(_applying, _applyingGradient.Span);
    }

    /// <summary>Disposes the optimizers.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _refreshing.Dispose();
        _applying.Dispose();
    }

    /// <summary>One step with an eigenbasis refresh: observation (SYRK), running factors, scalings (GEMM), eigenbases of A
    /// and G (SYEVD), scalings re-initialised in the new basis, the preconditioned gradient.</summary>
    [Benchmark]
    public void UpdateWithEigenbasisRefresh()
    {
        _refreshing.Observe("fc", _activations, _inputShape, _outputGradients, _gradientShape);
        _weightGradient.CopyTo(_refreshingGradient);
        _refreshing.Precondition();
    }

    /// <summary>The preconditioned gradient <c>Q_G ((Q_Gᵀ ∇W Q_A) / (s + λ)) Q_Aᵀ</c> (the bound gradient is restored first,
    /// since the call overwrites it).</summary>
    [Benchmark]
    public void Apply()
    {
        _weightGradient.CopyTo(_applyingGradient);
        _applying.Precondition();
    }

    private (EkfacOptimizer<T> Optimizer, Memory<T> Gradient) Create(Curvature.Backends.CurvatureBackend backend, int period)
    {
        int n = N;
        var model = new ModelSpec([LayerSpec.Linear("fc", n, n, bias: false)]);
        var values = new ParameterSet();
        values.Add("fc.weight", new T[n * n], n, n);
        var gradients = new ParameterSet();
        var gradient = gradients.Add("fc.weight", new T[n * n], n, n).Data;
        var optimizer = new EkfacOptimizer<T>(backend, model, values, gradients, new EkfacOptimizerOptions
        {
            EigenbasisUpdatePeriod = period,
            Damping = Damping,
            DampingAdaptation = DampingAdaptation.Fixed,
            KlClip = null,
        });
        return (optimizer, gradient);
    }

    /// <summary>
    /// Right after a basis change the scalings are the K-FAC eigenvalues <c>λ_G,i·λ_A,j</c>, so the step is the exactly
    /// damped K-FAC solve: <c>G·P·A + λP = ∇W</c>, checked on three seeded probes q with the optimizer's running factors.
    /// </summary>
    private void Verify(EkfacOptimizer<T> optimizer, ReadOnlySpan<T> direction)
    {
        int n = N;
        double tol = WorkloadCheck.Tolerance<T>();
        var statistics = optimizer.Statistics;
        var g = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(statistics[..(n * n)].ToArray(), n, n));
        var a = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(statistics.Slice(n * n, n * n).ToArray(), n, n));
        WorkloadCheck.Finite<T>("EKFAC dense preconditioned gradient", direction);
        var p = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(direction.ToArray(), n, n));
        var w = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(_weightGradient, n, n));
        for (int probe = 0; probe < 3; probe++)
        {
            var q = SeededData.Uniform<double>(n, SeededData.SeedFor(n, 43 + probe));
            var pq = WorkloadCheck.Times(p, q);
            var lhs = WorkloadCheck.Times(g, WorkloadCheck.Times(p, WorkloadCheck.Times(a, q)));
            for (int i = 0; i < n; i++)
            {
                lhs[i] += Damping * pq[i];
            }

            WorkloadCheck.Close($"EKFAC dense G·P·A·q + λ·P·q = ∇W·q (probe {probe}) n={n} {Backend}", lhs, WorkloadCheck.Times(w, q), tol);
        }
    }
}
