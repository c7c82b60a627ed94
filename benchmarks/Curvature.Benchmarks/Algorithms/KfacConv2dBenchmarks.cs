using System.Numerics;
using Curvature.Models;
using BenchmarkDotNet.Attributes;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Damping;
using Curvature.Kfac;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// K-FAC for the Conv2d layer of the K-FAC issue (<see cref="AlgorithmWorkloads.IssueConv"/>: 64 → 64 channels, 3 × 3,
/// padding 1, 32 × 32 images, batch 32; joint <c>[W | b]</c> block, A 577 × 577, G 64 × 64): factor accumulation of one
/// batch (<see cref="KfacFactorBuilder{T}"/>: im2col into 32768 patch rows, two SYRKs) and the damped inverse applied to a
/// parameter vector (<see cref="KfacInverseOperator{T}"/>, cached inverses: gather + two GEMMs + scatter).
/// </summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Algorithms", "Kfac", "Conv2d")]
[AlgorithmJob]
public class KfacConv2dBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double Damping = 1e-3;
    private static ConvWorkload Conv => AlgorithmWorkloads.IssueConv;
    private KfacFactorBuilder<T> _factors = null!;
    private KfacInverseOperator<T> _inverse = null!;
    private T[] _input = [];
    private T[] _gradients = [];
    private T[] _vector = [];
    private T[] _result = [];
    private int[] _inputShape = [];
    private int[] _gradientShape = [];

    /// <summary>The backends measured in this run.</summary>
    public static IEnumerable<string> Backends() => BenchmarkBackends.Available;

    /// <summary>The backend under test.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    /// <summary>Builds the factors and the inverse once and checks both against float64 oracles.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var backend = BenchmarkBackends.Create(Backend, 1);
        var model = new ModelSpec([LayerSpec.Conv2d("conv", Conv.Geometry)]);
        _factors = new KfacFactorBuilder<T>(backend, model, new KfacOptions { NumData = Conv.Batch });
        _input = Conv.Input<T>();
        _gradients = Conv.OutputGradients<T>();
        _inputShape = Conv.InputShape;
        _gradientShape = Conv.GradientShape;
        AccumulateFactors();
        _inverse = _factors.ToOperator().Inverse(KfacInverseOptions.Plain(Damping));
        _vector = SeededData.Uniform<T>(model.Dimension, SeededData.SeedFor(model.Dimension, 22));
        _result = new T[model.Dimension];
        ApplyInverse();
        Verify(model);
    }

    /// <summary>Clears the factors and accumulates one batch (im2col + SYRK for A, gradient rows + SYRK for G).</summary>
    [Benchmark]
    public void AccumulateFactors()
    {
        _factors.Reset();
        _factors.AccumulateLayer(0, _input, _inputShape, _gradients, _gradientShape);
    }

    /// <summary>Applies the cached damped inverse <c>(G + δI)⁻¹ V (A + δI)⁻¹</c> to one parameter vector (4640 entries).</summary>
    [Benchmark]
    public void ApplyInverse() => _inverse.Apply(_vector, _result);

    private void Verify(ModelSpec model)
    {
        var block = _factors.Blocks[0];
        var a = WorkloadCheck.Widen<T>(block.InputCovariance);
        var g = WorkloadCheck.Widen<T>(block.GradientCovariance);
        double tol = WorkloadCheck.Tolerance<T>();

        // Diagonals of A = Σ x xᵀ / (N·S) (own im2col) and G = κ Σ g gᵀ with κ = N_b²/N.
        var patches = Conv.Patches(_input, appendOnes: true);
        int rows = patches.GetLength(0), dA = patches.GetLength(1), dG = Conv.Geometry.OutChannels;
        var expectedA = new double[dA];
        var actualA = new double[dA];
        for (int j = 0; j < dA; j++)
        {
            double s = 0;
            for (int r = 0; r < rows; r++)
            {
                s += patches[r, j] * patches[r, j];
            }

            expectedA[j] = s / rows;
            actualA[j] = a[j, j];
        }

        WorkloadCheck.Close($"K-FAC Conv2d diag(A) {typeof(T).Name} {Backend}", actualA, expectedA, tol);
        int positions = Conv.Positions, batch = Conv.Batch;
        double kappa = (double)batch * batch / batch;
        var expectedG = new double[dG];
        var actualG = new double[dG];
        for (int c = 0; c < dG; c++)
        {
            double s = 0;
            for (int n = 0; n < batch; n++)
            {
                for (int p = 0; p < positions; p++)
                {
                    double v = double.CreateChecked(_gradients[(((n * dG) + c) * positions) + p]);
                    s += v * v;
                }
            }

            expectedG[c] = kappa * s;
            actualG[c] = g[c, c];
        }

        WorkloadCheck.Close($"K-FAC Conv2d diag(G) {typeof(T).Name} {Backend}", actualG, expectedG, tol);

        // Inverse: (G + δI) P (A + δI) must give back V, with P and V the packed [W | b] matrices (32 × 145).
        WorkloadCheck.Finite<T>("K-FAC Conv2d inverse application", _result);
        int d = dA - 1;
        var p2 = new double[dG, dA];
        var v2 = new double[dG * dA];
        for (int o = 0; o < dG; o++)
        {
            for (int i = 0; i < dA; i++)
            {
                int index = i < d ? (o * d) + i : (dG * d) + o;
                p2[o, i] = double.CreateChecked(_result[index]);
                v2[(o * dA) + i] = double.CreateChecked(_vector[index]);
            }
        }

        var reconstructed = new double[dG * dA];
        var pa = new double[dG, dA];
        for (int o = 0; o < dG; o++)
        {
            for (int j = 0; j < dA; j++)
            {
                double s = Damping * p2[o, j];
                for (int k = 0; k < dA; k++)
                {
                    s += p2[o, k] * a[k, j];
                }

                pa[o, j] = s;
            }
        }

        for (int o = 0; o < dG; o++)
        {
            for (int j = 0; j < dA; j++)
            {
                double s = Damping * pa[o, j];
                for (int k = 0; k < dG; k++)
                {
                    s += g[o, k] * pa[k, j];
                }

                reconstructed[(o * dA) + j] = s;
            }
        }

        WorkloadCheck.That(model.Dimension == dG * dA, $"the model has {model.Dimension} parameters, expected {dG * dA}.");
        WorkloadCheck.Close($"K-FAC Conv2d (G+δI)·K⁻¹v·(A+δI) = v {typeof(T).Name} {Backend}", reconstructed, v2, tol);
    }
}
