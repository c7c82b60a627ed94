using System.Numerics;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Damping;
using Curvature.Kfac;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// The library's dense-layer K-FAC (<see cref="KfacLayerPreconditioner{T}"/>, in = out = n, batch 256) split into its
/// two hot paths, which the composite <c>Preconditioners.KfacStepBenchmarks</c> (a contract-only step including the
/// inversion) does not separate: the factor update (two SYRKs with the EMA folded in, mirrored) and the application of
/// the cached damped inverses <c>G⁻¹ ∇W A⁻¹</c> (two GEMMs plus copies).
/// </summary>
/// <remarks>Double only (the float kernels are covered by <c>KfacStepBenchmarks</c>); plain damping δ = 1e-3 so that the
/// set-up check can rebuild the gradient exactly.</remarks>
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Algorithms", "Kfac", "Dense")]
[AlgorithmJob]
public class KfacDenseBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double Damping = 1e-3;
    private KfacLayerPreconditioner<T> _kfac = null!;
    private T[] _activations = [];
    private T[] _outputGradients = [];
    private T[] _weightGradient = [];
    private T[] _natural = [];

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

    /// <summary>Creates the layer state, makes one update and one application, and checks them against float64 oracles.</summary>
    [GlobalSetup]
    public void Setup()
    {
        int n = N, batch = AlgorithmWorkloads.DenseBatch;
        var backend = BenchmarkBackends.Create(Backend, 1);
        _kfac = new KfacLayerPreconditioner<T>(backend, n, n, new KfacPreconditionerOptions
        {
            Damping = Damping,
            DampingMode = DampingMode.Plain,
            InverseUpdatePeriod = int.MaxValue,
        });
        _activations = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 30));
        _outputGradients = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 31));
        _weightGradient = SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 32));
        _natural = new T[n * n];
        UpdateFactors();
        _kfac.RefreshInverse();
        ApplyInverse();
        Verify();
    }

    /// <summary>One factor update from the stored batch: <c>A ← 0.95A + 0.05·XᵀX/256</c>, same for G.</summary>
    [Benchmark]
    public void UpdateFactors()
    {
        int n = N, batch = AlgorithmWorkloads.DenseBatch;
        _kfac.Update(new ReadOnlySpan2D<T>(_activations, batch, n), new ReadOnlySpan2D<T>(_outputGradients, batch, n));
    }

    /// <summary>The natural gradient <c>(G + δI)⁻¹ ∇W (A + δI)⁻¹</c> with the cached inverses.</summary>
    [Benchmark]
    public void ApplyInverse() =>
        _kfac.NaturalGradient(new ReadOnlySpan2D<T>(_weightGradient, N, N), new Span2D<T>(_natural, N, N));

    private void Verify()
    {
        int n = N, batch = AlgorithmWorkloads.DenseBatch;
        double tol = WorkloadCheck.Tolerance<T>();
        var a = WorkloadCheck.Widen(_kfac.InputFactor);
        var g = WorkloadCheck.Widen(_kfac.GradientFactor);

        // First update replaces: A = XᵀX / B (diagonal checked), G likewise.
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
            expected[n + j] = sg / batch;
            actual[j] = a[j, j];
            actual[n + j] = g[j, j];
        }

        WorkloadCheck.Close($"K-FAC dense diag(A), diag(G) n={n} {Backend}", actual, expected, tol);

        // (G + δI)·P·(A + δI)·q must equal ∇W·q for a seeded probe q (three matrix-vector products).
        WorkloadCheck.Finite<T>("K-FAC dense natural gradient", _natural);
        var q = SeededData.Uniform<double>(n, SeededData.SeedFor(n, 33));
        var p = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(_natural, n, n));
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
