using System.Numerics;
using Curvature.Models;
using BenchmarkDotNet.Attributes;
using Curvature.Benchmarks.Infrastructure;
using Curvature.Ekfac;
using Curvature.Kfac;

namespace Curvature.Benchmarks.Algorithms;

/// <summary>
/// EKFAC's eigenvalue correction (pass 2 of <see cref="EkfacBuilder{T}"/>) for one batch of a Conv2d layer (joint block),
/// with the two <see cref="EkfacCorrectionStrategy"/> values: rotated per-example gradients (memory ∝ D_out·D_in') and the
/// Gramian contraction over positions (memory ∝ S²(D_out + D_in')). Cases: the K-FAC issue's layer
/// (<see cref="AlgorithmWorkloads.IssueConv"/>, S = 1024, D_in' = 577, D_out = 64) with per-example gradients — the seed's
/// memory rule picks them there, and the Gramian contraction (cost ∝ S²·D_in'·D_out per example) would take minutes
/// per batch — and the smaller layer (<see cref="AlgorithmWorkloads.SmallConv"/>, S = 256, D_in' = 145, D_out = 32) with
/// both strategies. The eigenbasis is computed once in the set-up.
/// </summary>
[GenericTypeArguments(typeof(float))]
[GenericTypeArguments(typeof(double))]
[BenchmarkCategory("Algorithms", "Ekfac", "Conv2d")]
[AlgorithmJob]
public class EkfacConv2dCorrectionBenchmarks<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private EkfacBuilder<T> _ekfac = null!;
    private T[] _input = [];
    private T[] _gradients = [];
    private int[] _inputShape = [];
    private int[] _gradientShape = [];

    /// <summary>The backends measured in this run.</summary>
    public static IEnumerable<string> Backends() => BenchmarkBackends.Available;

    /// <summary>The backend under test.</summary>
    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "managed";

    /// <summary>The cases: <c>layer/strategy</c> with strategy <c>rotated</c> (per-example gradients) or <c>gramian</c>.</summary>
    public static IEnumerable<string> Cases() =>
        [$"{AlgorithmWorkloads.IssueConv.Name}/rotated", $"{AlgorithmWorkloads.SmallConv.Name}/rotated", $"{AlgorithmWorkloads.SmallConv.Name}/gramian"];

    /// <summary>The layer and the way the corrected eigenvalues are evaluated.</summary>
    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = $"{AlgorithmWorkloads.SmallConv.Name}/rotated";

    private ConvWorkload Conv => AlgorithmWorkloads.Conv(Case.Split('/')[0]);

    private EkfacCorrectionStrategy Strategy =>
        Case.Split('/')[1] == "gramian" ? EkfacCorrectionStrategy.Gramian : EkfacCorrectionStrategy.PerExampleGradients;

    /// <summary>Accumulates the K-FAC factors, computes the eigenbasis, runs one correction and checks it against a float64 oracle.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var backend = BenchmarkBackends.Create(Backend, 1);
        var model = new ModelSpec([LayerSpec.Conv2d("conv", Conv.Geometry)]);
        var options = new KfacOptions { NumData = Conv.Batch };
        _input = Conv.Input<T>();
        _gradients = Conv.OutputGradients<T>();
        _inputShape = Conv.InputShape;
        _gradientShape = Conv.GradientShape;
        var factors = new KfacFactorBuilder<T>(backend, model, options);
        factors.AccumulateLayer(0, _input, _inputShape, _gradients, _gradientShape);
        _ekfac = new EkfacBuilder<T>(backend, model, options, Strategy);
        _ekfac.SetFactors(factors);
        CorrectEigenvalues();
        Verify();
    }

    /// <summary>Clears the corrected eigenvalues and accumulates one batch: <c>λ = κ Σ_n (Q_Gᵀ Γ_n Q_A)∘2</c>.</summary>
    [Benchmark]
    public void CorrectEigenvalues()
    {
        _ekfac.ResetCorrections();
        _ekfac.AccumulateLayer(0, _input, _inputShape, _gradients, _gradientShape);
    }

    /// <summary>Oracle: per-example gradients <c>Γ_n = Σ_s g_s x_sᵀ</c> (own im2col), rotated and squared in float64.</summary>
    private void Verify()
    {
        var block = _ekfac.Blocks[0];
        var qg = WorkloadCheck.Widen<T>(block.GradientEigenvectors);
        var qa = WorkloadCheck.Widen<T>(block.InputEigenvectors);
        var corrected = block.CorrectedEigenvalues;
        var patches = Conv.Patches(_input, appendOnes: true);
        int dOut = qg.GetLength(0), dIn = qa.GetLength(0), positions = Conv.Positions, batch = Conv.Batch;
        WorkloadCheck.That(corrected.Height == dOut && corrected.Width == dIn, $"corrected eigenvalues are {corrected.Height} × {corrected.Width}, expected {dOut} × {dIn}.");
        double kappa = (double)batch * batch / batch;
        var expected = new double[dOut * dIn];
        var gamma = new double[dOut, dIn];
        var left = new double[dOut, dIn];
        for (int n = 0; n < batch; n++)
        {
            Array.Clear(gamma);
            for (int o = 0; o < dOut; o++)
            {
                for (int s = 0; s < positions; s++)
                {
                    double gv = double.CreateChecked(_gradients[(((n * dOut) + o) * positions) + s]);
                    int row = (n * positions) + s;
                    for (int i = 0; i < dIn; i++)
                    {
                        gamma[o, i] += gv * patches[row, i];
                    }
                }
            }

            // left = Q_Gᵀ Γ, then (left Q_A)∘2.
            for (int a = 0; a < dOut; a++)
            {
                for (int i = 0; i < dIn; i++)
                {
                    double sum = 0;
                    for (int o = 0; o < dOut; o++)
                    {
                        sum += qg[o, a] * gamma[o, i];
                    }

                    left[a, i] = sum;
                }
            }

            for (int a = 0; a < dOut; a++)
            {
                for (int b = 0; b < dIn; b++)
                {
                    double sum = 0;
                    for (int i = 0; i < dIn; i++)
                    {
                        sum += left[a, i] * qa[i, b];
                    }

                    expected[(a * dIn) + b] += kappa * sum * sum;
                }
            }
        }

        var actual = new double[dOut * dIn];
        for (int a = 0; a < dOut; a++)
        {
            for (int b = 0; b < dIn; b++)
            {
                actual[(a * dIn) + b] = double.CreateChecked(corrected[a, b]);
            }
        }

        WorkloadCheck.Close($"EKFAC Conv2d corrected eigenvalues {Strategy} {typeof(T).Name} {Backend}", actual, expected, WorkloadCheck.Tolerance<T>());
    }
}
