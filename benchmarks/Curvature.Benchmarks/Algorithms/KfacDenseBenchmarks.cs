using System.Numerics;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Damping;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// The dense-layer K-FAC of <see cref="KfacOptimizer{T}"/> (in = out = n, no bias, batch 256) split into its two hot
/// paths, which the composite <c>Preconditioners.KfacStepBenchmarks</c> (a contract-only step including the inversion)
/// does not separate: the observation of a batch (the batch factors <c>A = XᵀX/B</c>, <c>G = B·ΓᵀΓ</c> for the gradients
/// Γ of a mean loss, seeded uniform values divided by B: two SYRKs,
/// mirrored) and the preconditioned gradient with the cached damped inverses <c>(G + δI)⁻¹ ∇W (A + δI)⁻¹</c>
/// (<c>Precondition</c> without a new observation or refresh: two GEMMs plus the copies between the bound gradient and the
/// optimizer's flat vectors, and the restore of the gradient the call overwrites).
/// </summary>
/// <remarks>Double only (the float kernels are covered by <c>KfacStepBenchmarks</c>); plain fixed damping δ = 1e-3 and no
/// KL clipping so that the set-up check can rebuild the gradient exactly.</remarks>
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Algorithms", "Kfac", "Dense")]
[AlgorithmJob]
public class KfacDenseBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double Damping = 1e-3;
    private KfacOptimizer<T> _kfac = null!;
    private T[] _activations = [];
    private T[] _outputGradients = [];
    private T[] _weightGradient = [];
    private Memory<T> _boundGradient;
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

    /// <summary>Creates the optimizer, observes one batch, computes the inverse, and checks factors and direction
    /// against float64 oracles.</summary>
    [GlobalSetup]
    public void Setup()
    {
        int n = N, batch = AlgorithmWorkloads.DenseBatch;
        var backend = BenchmarkBackends.Create(Backend, 1);
        var model = new ModelSpec([LayerSpec.Linear("fc", n, n, bias: false)]);
        var values = new ParameterSet();
        values.Add("fc.weight", new T[n * n], n, n);
        var gradients = new ParameterSet();
        _boundGradient = gradients.Add("fc.weight", new T[n * n], n, n).Data;
        _kfac = new KfacOptimizer<T>(backend, model, values, gradients, new KfacOptimizerOptions
        {
            Damping = Damping,
            DampingMode = DampingMode.Plain,
            DampingAdaptation = DampingAdaptation.Fixed,
            KlClip = null,
            InverseUpdatePeriod = int.MaxValue,
        });
        _activations = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 30));
        _outputGradients = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 31));
        for (int i = 0; i < _outputGradients.Length; i++)
        {
            _outputGradients[i] /= T.CreateChecked(batch); // gradients of a mean loss carry 1/B
        }
        _weightGradient = SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 32));
        _inputShape = [batch, n];
        _gradientShape = [1, batch, n];
        Observe();
        Precondition(); // the first call folds the observation in and computes the inverse
        Verify();
    }

    /// <summary>Disposes the optimizer.</summary>
    [GlobalCleanup]
    public void Cleanup() => _kfac.Dispose();

    /// <summary>One observation of the stored batch: the batch factors (two SYRKs), staged for the next step.</summary>
    [Benchmark]
    public void Observe() => _kfac.Observe("fc", _activations, _inputShape, _outputGradients, _gradientShape);

    /// <summary>The preconditioned gradient <c>(G + δI)⁻¹ ∇W (A + δI)⁻¹</c> with the cached inverses (the bound gradient
    /// is restored first, since the call overwrites it).</summary>
    [Benchmark]
    public void Precondition()
    {
        _weightGradient.CopyTo(_boundGradient);
        _kfac.Precondition();
    }

    private void Verify()
    {
        int n = N, batch = AlgorithmWorkloads.DenseBatch;
        double tol = WorkloadCheck.Tolerance<T>();
        var statistics = _kfac.Statistics;
        var g = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(statistics[..(n * n)].ToArray(), n, n));
        var a = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(statistics.Slice(n * n, n * n).ToArray(), n, n));

        // The first statistics are the batch's factors: A = XᵀX / B, G = B·ΓᵀΓ (Γ the gradients of a mean loss); diagonals.
        var expected = new double[2 * n];
        var actual = new double[2 * n];
        for (int j = 0; j < n; j++)
        {
            double sa = 0, sg = 0;
            for (int r = 0; r < batch; r++)
            {
                double x = double.CreateChecked(_activations[(r * n) + j]), y = double.CreateChecked(_outputGradients[(r * n) + j]);
                sa += x * x;
                sg += y * y;
            }

            expected[j] = sa / batch;
            expected[n + j] = sg * batch;
            actual[j] = a[j, j];
            actual[n + j] = g[j, j];
        }

        WorkloadCheck.Close($"K-FAC dense diag(A), diag(G) n={n} {Backend}", actual, expected, tol);

        // (G + δI)·P·(A + δI)·q must equal ∇W·q for a seeded probe q (three matrix-vector products).
        var direction = _boundGradient.Span;
        WorkloadCheck.Finite<T>("K-FAC dense preconditioned gradient", direction);
        var q = SeededData.Uniform<double>(n, SeededData.SeedFor(n, 33));
        var p = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(direction.ToArray(), n, n));
        var w = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(_weightGradient, n, n));
        var t = WorkloadCheck.Times(a, q);
        for (int i = 0; i < n; i++)
        {
            t[i] += Damping * q[i];
        }

        var u = WorkloadCheck.Times(p, t);
        var r2 = WorkloadCheck.Times(g, u);
        for (int i = 0; i < n; i++)
        {
            r2[i] += Damping * u[i];
        }

        WorkloadCheck.Close($"K-FAC dense (G+δI)·P·(A+δI)·q = ∇W·q n={n} {Backend}", r2, WorkloadCheck.Times(w, q), tol);
    }
}
