using System.Numerics;
using Curvature.Models;
using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Ekfac;
using Curvature.Kfac;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// The running EKFAC preconditioner (<see cref="EkfacPreconditioner{T}"/>) of one dense layer (in = out = n, no bias,
/// batch 256): an update that refreshes the eigenbasis (eigenbasis period 1: two SYRKs, two SYEVDs of the n × n factors,
/// rotations and the scalings' GEMM) and the application <c>Q_G ((Q_Gᵀ ∇ Q_A) / (s + ε)) Q_Aᵀ</c> (four GEMMs).
/// </summary>
/// <remarks>
/// For n ≥ 512 the factors of a single 256-example batch are rank-deficient (rank ≤ 256); the eigensolver must cope
/// with that. Double only (float costs another 18 cases; the kernels' float speed is in <c>Kernels/</c>).
/// </remarks>
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Algorithms", "Ekfac", "Dense")]
[AlgorithmJob]
public class EkfacDenseBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double Damping = 1e-3;
    private EkfacPreconditioner<T> _ekfac = null!;
    private T[] _activations = [];
    private T[] _outputGradients = [];
    private T[] _weightGradient = [];
    private T[] _preconditioned = [];

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

    /// <summary>Creates the preconditioner, makes one update and one application, and checks them.</summary>
    [GlobalSetup]
    public void Setup()
    {
        int n = N, batch = AlgorithmWorkloads.DenseBatch;
        var backend = BenchmarkBackends.Create(Backend, 1);
        _ekfac = new EkfacPreconditioner<T>(backend, [LayerSpec.Linear("fc", n, n, bias: false)], new EkfacPreconditionerOptions
        {
            MaxBatchSize = batch,
            EigenbasisPeriod = 1,
            Damping = Damping,
        });
        _activations = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 40));
        _outputGradients = SeededData.Uniform<T>(batch * n, SeededData.SeedFor(n, 41));
        _weightGradient = SeededData.Uniform<T>(n * n, SeededData.SeedFor(n, 42));
        _preconditioned = new T[n * n];
        UpdateWithEigenbasisRefresh();
        Apply();
        Verify();
    }

    /// <summary>One update with eigenbasis refresh: factors (SYRK), eigenbases of A and G (SYEVD), scalings (GEMM).</summary>
    [Benchmark]
    public void UpdateWithEigenbasisRefresh()
    {
        int n = N, batch = AlgorithmWorkloads.DenseBatch;
        _ekfac.Update(0, new ReadOnlySpan2D<T>(_activations, batch, n), new ReadOnlySpan2D<T>(_outputGradients, batch, n));
    }

    /// <summary>The preconditioned gradient <c>Q_G ((Q_Gᵀ ∇W Q_A) / (s + ε)) Q_Aᵀ</c>.</summary>
    [Benchmark]
    public void Apply() =>
        _ekfac.Apply(0, new ReadOnlySpan2D<T>(_weightGradient, N, N), new Span2D<T>(_preconditioned, N, N));

    private void Verify()
    {
        int n = N;
        double tol = WorkloadCheck.Tolerance<T>();
        var a = WorkloadCheck.Widen(_ekfac.InputCovariance(0));
        var g = WorkloadCheck.Widen(_ekfac.GradientCovariance(0));
        var qa = WorkloadCheck.Widen(_ekfac.InputEigenvectors(0));
        var qg = WorkloadCheck.Widen(_ekfac.GradientEigenvectors(0));
        var s = WorkloadCheck.Widen(_ekfac.Scalings(0));
        var p = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(_preconditioned, n, n));
        var w = WorkloadCheck.Widen(new ReadOnlySpan2D<T>(_weightGradient, n, n));
        WorkloadCheck.Finite<T>("EKFAC dense preconditioned gradient", _preconditioned);
        foreach (int j in new[] { 0, n / 2, n - 1 })
        {
            // Eigenpair residuals: F q = (qᵀ F q) q for probe columns of Q_A and Q_G, scaled by the largest diagonal entry.
            foreach (var (f, q, name) in new[] { (a, qa, "A"), (g, qg, "G") })
            {
                var v = WorkloadCheck.Column(q, j);
                var fv = WorkloadCheck.Times(f, v);
                double rayleigh = 0, norm = 0, scale = 0;
                for (int i = 0; i < n; i++)
                {
                    rayleigh += v[i] * fv[i];
                    norm += v[i] * v[i];
                    scale = Math.Max(scale, Math.Abs(f[i, i]));
                }

                double residual = 0;
                for (int i = 0; i < n; i++)
                {
                    residual += (fv[i] - (rayleigh * v[i])) * (fv[i] - (rayleigh * v[i]));
                }

                residual = Math.Sqrt(residual) / scale;
                WorkloadCheck.That(Math.Abs(norm - 1) <= tol, $"eigenvector {j} of {name} has norm² {norm} (n={n}, {Backend}).");
                WorkloadCheck.That(residual <= tol, $"eigenpair {name}[{j}] has residual ‖Fq − (qᵀFq)q‖ / max F_ii = {residual:E2} (n={n}, {Backend}).");
            }

            // Application, column j of the eigenbasis: Q_Gᵀ (P q_A,j) = (Q_Gᵀ (∇W q_A,j)) ./ (s[:, j] + ε).
            var qj = WorkloadCheck.Column(qa, j);
            var lhs = WorkloadCheck.Times(qg, WorkloadCheck.Times(p, qj), transpose: true);
            var rhs = WorkloadCheck.Times(qg, WorkloadCheck.Times(w, qj), transpose: true);
            for (int i = 0; i < n; i++)
            {
                rhs[i] /= s[i, j] + Damping;
            }

            WorkloadCheck.Close($"EKFAC dense Q_Gᵀ·P·q_A[{j}] n={n} {Backend}", lhs, rhs, tol);
        }
    }
}
