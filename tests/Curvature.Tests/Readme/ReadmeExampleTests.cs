using Curvature.Backends;
using Curvature.Damping;
using Curvature.Kfac;
using Curvature.Loss;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.Tests.TestKit;
using Xunit;

namespace Curvature.Tests.Readme;

/// <summary>The code shown in README.md, compiled and checked so the README cannot drift from the API.</summary>
public class ReadmeExampleTests
{
    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void OperatorExample_InverseUndoesMultiply(string backendName)
    {
        CurvatureBackend backend = TestBackends.Get(backendName);
        var rng = new Random(7);
        double[] a = Fill(rng, 8 * 5), g = Fill(rng, 1 * 8 * 4);   // layer input [N=8, 5]; one vector: g [V=1, N=8, 4]

        // ── README: curvature operator ──
        var model = new ModelSpec([LayerSpec.Linear("0", inFeatures: 5, outFeatures: 4)]);
        var builder = new KfacFactorBuilder<double>(backend, model, new KfacOptions { NumData = 8, Fisher = FisherType.Empirical });
        builder.AccumulateLayer("0", a, [8, 5], g, [1, 8, 4]);        // once per batch and layer
        KfacOperator<double> fisher = builder.ToOperator();            // (G ⊗ A) over [W | b], curvlinops' conventions
        var inverse = fisher.Inverse(KfacInverseOptions.Plain(1e-3));  // (G + δI)⁻¹ ⊗ (A + δI)⁻¹
        // ── end ──

        var dense = fisher.ToDense();
        int d = fisher.Dimension;
        Assert.Equal(4 * 6, d);
        double trace = 0;
        for (int i = 0; i < d; i++)
        {
            trace += dense[(i * d) + i];
        }

        Assert.Equal(trace, fisher.Trace(), 1e-12);
        var v = Fill(rng, d);
        var fv = new double[d];
        var back = new double[d];
        inverse.Apply(v, fv);
        // (G + δI)⁻¹ ⊗ (A + δI)⁻¹ applied to ((G + δI) ⊗ (A + δI)) v gives v back: check with the damped dense product.
        var damped = new double[d];
        var gd = new double[16];
        var ad = new double[36];
        builder.Blocks[0].GradientCovariance.CopyTo(gd);
        builder.Blocks[0].InputCovariance.CopyTo(ad);
        for (int i = 0; i < 4; i++) gd[(i * 4) + i] += 1e-3;
        for (int i = 0; i < 6; i++) ad[(i * 6) + i] += 1e-3;
        // Parameter order is weight (row-major 4 × 5) then bias (4); the block acts on V = [W | b] (4 × 6).
        static int Index(int r, int c) => c < 5 ? (r * 5) + c : 20 + r;
        for (int r = 0; r < 4; r++)
        {
            for (int c = 0; c < 6; c++)
            {
                double s = 0;
                for (int r2 = 0; r2 < 4; r2++)
                {
                    for (int c2 = 0; c2 < 6; c2++)
                    {
                        s += gd[(r * 4) + r2] * ad[(c * 6) + c2] * fv[Index(r2, c2)];
                    }
                }

                damped[Index(r, c)] = s;
            }
        }

        for (int i = 0; i < d; i++)
        {
            Assert.Equal(v[i], damped[i], 1e-8);
        }
    }

    [Theory]
    [MemberData(nameof(TestBackends.Names), MemberType = typeof(TestBackends))]
    public void TrainingLoopExample_StepIsMinusLrTimesNaturalGradient(string backendName)
    {
        CurvatureBackend backend = TestBackends.Get(backendName);
        var rng = new Random(3);
        double[] a = Fill(rng, 32 * 6), g = Fill(rng, 1 * 32 * 3);   // layer inputs [B, in]; loss gradients at the output [1, B, out]
        double[] weight = Fill(rng, 3 * 6), dW = Fill(rng, 3 * 6);     // the layer's weight and its gradient [out, in]
        double loss = 0.5;
        var before = (double[])weight.Clone();
        var gradient = (double[])dW.Clone();

        // ── README: training loop ──
        var model = new ModelSpec([LayerSpec.Linear("fc", inFeatures: 6, outFeatures: 3, bias: false)]);
        var values = new ParameterSet();
        values.Add("fc.weight", weight, 3, 6);                     // bound once: updated in place by Step
        var grads = new ParameterSet();
        grads.Add("fc.weight", dW, 3, 6);                          // the caller writes ∂L/∂W here before each step
        using var kfac = new KfacOptimizer<double>(backend, model, values, grads, new KfacOptimizerOptions
        {
            LearningRate = 0.1, Momentum = 0, KlClip = null, Damping = 1e-3, DampingAdaptation = DampingAdaptation.Fixed, InverseUpdatePeriod = 20,
        });
        if (kfac.NeedsObservations)
        {
            kfac.Observe("fc", a, [32, 6], g, [1, 32, 3]);          // running A and G (?SYRK)
        }

        kfac.Step(loss);                                           // W ← W − lr · G⁻¹ ∇W A⁻¹ (?POTRF/?POTRI, ?GEMM)
        // ── end ──

        // The same observation preconditions the same gradient in a second optimizer: W moved by −lr times that.
        var twinGrads = new ParameterSet();
        twinGrads.Add("fc.weight", gradient, 3, 6);
        var twinValues = new ParameterSet();
        twinValues.Add("fc.weight", (double[])before.Clone(), 3, 6);
        using var twin = new KfacOptimizer<double>(backend, model, twinValues, twinGrads, kfac.Options);
        twin.Observe("fc", a, [32, 6], g, [1, 32, 3]);
        twin.Precondition();
        for (int i = 0; i < weight.Length; i++)
        {
            Assert.Equal(before[i] + (-0.1 * gradient[i]), weight[i], 1e-14);
        }

        Assert.NotEqual(0.0, gradient[0]);
    }

    private static double[] Fill(Random rng, int n)
    {
        var x = new double[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = rng.NextDouble() - 0.5;
        }

        return x;
    }
}
