using Curvature.Backends.Managed;
using Curvature.Damping;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Xunit;
using Oracle = Curvature.Tests.Kfac.DenseOracle;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// The quadratic-model learning rate and momentum and the Levenberg–Marquardt damping against a dense float64 oracle of
/// the same formulas (Martens &amp; Grosse 2015, §6.5 and §7) on a small problem with an exact curvature matrix: a
/// quadratic loss <c>L(θ) = ½(θ − θ*)ᵀ H (θ − θ*)</c> over the 2 × 3 weight of one Linear layer, with H supplied as the
/// caller's curvature products, K-FAC factors from a fixed observation (plain damping, so the preconditioned gradient
/// is <c>(G + λ)⁻¹ ∇W (A + λ)⁻¹</c>), inverses refreshed every step and the damping adapted every step.
/// </summary>
public class StepControlOracleTests
{
    private const int In = 3, Out = 2, N = 5, P = In * Out;

    [Fact]
    public void QuadraticModel_AndLevenbergMarquardt_MatchDenseOracle() => RunAgainstOracle(UpdateRule.QuadraticModel);

    [Fact]
    public void LearningRateRule_PredictedChangeAndLevenbergMarquardt_MatchDenseOracle() => RunAgainstOracle(UpdateRule.LearningRate);

    private static void RunAgainstOracle(UpdateRule rule)
    {
        var rng = new Random(11);
        var h = TestKit.DenseOracle.RandomSpd(P, rng);
        var target = Enumerable.Range(0, P).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var x = Oracle.Random(rng, N, In);
        var y = Oracle.Random(rng, N, Out, 0.2);

        var model = new ModelSpec([LayerSpec.Linear("fc", In, Out, bias: false)]);
        var theta = Enumerable.Range(0, P).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var grad = new double[P];
        var values = new ParameterSet();
        values.Add("fc.weight", theta, Out, In);
        var grads = new ParameterSet();
        grads.Add("fc.weight", grad, Out, In);
        var options = new KfacOptimizerOptions
        {
            UpdateRule = rule,
            LearningRate = 0.002,
            Momentum = 0.5,
            KlClip = null,
            Damping = 0.05,
            DampingMode = DampingMode.Plain,
            InverseUpdatePeriod = 1,
            DampingAdaptation = DampingAdaptation.LevenbergMarquardt,
            DampingAdaptationInterval = 1,
            QuadraticModelCurvature = QuadraticModelCurvature.CallerProducts,
        };
        using var kfac = new KfacOptimizer<double>(new ManagedBackend(), model, values, grads, options)
        {
            CurvatureProducts = new DenseProducts(h),
        };

        // The oracle's state.
        var o = (double[])theta.Clone();
        double lambda = options.Damping;
        var previous = new double[P];
        bool hasPrevious = false;
        var a = Oracle.Multiply(Oracle.Transpose(x), x);
        var g = Oracle.Multiply(Oracle.Transpose(y), y);
        for (int i = 0; i < In; i++)
        {
            for (int j = 0; j < In; j++)
            {
                a[i, j] /= N;
            }
        }

        for (int i = 0; i < Out; i++)
        {
            for (int j = 0; j < Out; j++)
            {
                g[i, j] /= N; // G = κ Σ (y/N)(y/N)ᵀ with κ = N for a mean-reduced loss
            }
        }

        var yScaled = new double[N * Out];
        for (int n = 0; n < N; n++)
        {
            for (int j = 0; j < Out; j++)
            {
                yScaled[(n * Out) + j] = y[n, j] / N;
            }
        }

        var ratios = new List<double>();
        for (int step = 0; step < 6; step++)
        {
            double Loss(double[] t)
            {
                var e = t.Select((v, i) => v - target[i]).ToArray();
                return 0.5 * Enumerable.Range(0, P).Sum(i => e[i] * Enumerable.Range(0, P).Sum(j => h[i, j] * e[j]));
            }

            // Gradient at the optimizer's parameters (equal to the oracle's up to rounding).
            for (int i = 0; i < P; i++)
            {
                grad[i] = Enumerable.Range(0, P).Sum(j => h[i, j] * (theta[j] - target[j]));
            }

            double loss = Loss(theta);
            kfac.Observe("fc", Oracle.Flat(x), [N, In], yScaled, [1, N, Out]);
            var result = kfac.Step(loss, () => Loss(theta));

            // Oracle: Δ = (G + λ)⁻¹ ∇W (A + λ)⁻¹.
            var og = new double[P];
            for (int i = 0; i < P; i++)
            {
                og[i] = Enumerable.Range(0, P).Sum(j => h[i, j] * (o[j] - target[j]));
            }

            var delta = Oracle.Flat(Oracle.Multiply(Oracle.Multiply(Oracle.Inverse(Oracle.AddIdentity(g, lambda)), Oracle.FromFlat(og, Out, In)), Oracle.Inverse(Oracle.AddIdentity(a, lambda))));
            double[] update;
            double predicted, rate, momentum;
            if (rule == UpdateRule.QuadraticModel)
            {
                bool two = hasPrevious;
                double a11 = Quad(h, delta, delta), d11 = Dot(delta, delta), b1 = Dot(og, delta);
                double w1, w2 = 0;
                if (two)
                {
                    double a12 = Quad(h, delta, previous), a22 = Quad(h, previous, previous);
                    double d12 = Dot(delta, previous), d22 = Dot(previous, previous), b2 = Dot(og, previous);
                    double m11 = a11 + (lambda * d11), m12 = a12 + (lambda * d12), m22 = a22 + (lambda * d22);
                    double det = (m11 * m22) - (m12 * m12);
                    w1 = -((m22 * b1) - (m12 * b2)) / det;
                    w2 = -((m11 * b2) - (m12 * b1)) / det;
                    predicted = (0.5 * ((w1 * w1 * a11) + (2 * w1 * w2 * a12) + (w2 * w2 * a22))) + (w1 * b1) + (w2 * b2);
                }
                else
                {
                    w1 = -b1 / (a11 + (lambda * d11));
                    predicted = (0.5 * w1 * w1 * a11) + (w1 * b1);
                }

                update = delta.Select((d, i) => (w1 * d) + (w2 * previous[i])).ToArray();
                rate = -w1;
                momentum = w2;
                previous = update;
            }
            else
            {
                // v ← μ v + Δ; δ = −η v; M(δ) = ½ δᵀHδ + gᵀδ.
                var v = delta.Select((d, i) => (hasPrevious ? options.Momentum * previous[i] : 0) + d).ToArray();
                update = v.Select(vi => -options.LearningRate * vi).ToArray();
                predicted = (0.5 * Quad(h, update, update)) + Dot(og, update);
                rate = options.LearningRate;
                momentum = options.Momentum;
                previous = v;
            }

            hasPrevious = true;
            double before = Loss(o);
            for (int i = 0; i < P; i++)
            {
                o[i] += update[i];
            }

            // A model that predicts no decrease counts as a very poor model (ρ = −100, as KFAC-JAX treats an undefined ρ).
            double rho = predicted < 0 ? (Loss(o) - before) / predicted : -100;
            double omega = Math.Pow(options.DampingAdaptationDecay, 1);
            double usedLambda = lambda;
            lambda = rho > 0.75 ? lambda * omega : rho < 0.25 ? lambda / omega : lambda;

            ratios.Add(rho);
            Assert.True(Rel(rate, result.LearningRate) < 1e-10, $"step {step}: rate {result.LearningRate} vs {rate}");
            Assert.True(Rel(momentum, result.Momentum) < 1e-10, $"step {step}: momentum {result.Momentum} vs {momentum}");
            Assert.True(Rel(predicted, result.PredictedChange) < 1e-10, $"step {step}: M {result.PredictedChange} vs {predicted}");
            Assert.True(Rel(rho, result.ReductionRatio) < 1e-10, $"step {step}: ρ {result.ReductionRatio} vs {rho}");
            Assert.True(Rel(usedLambda, result.Damping) < 1e-10, $"step {step}: λ used {result.Damping} vs {usedLambda}");
            Assert.True(Rel(lambda, kfac.Damping) < 1e-10, $"step {step}: λ next {kfac.Damping} vs {lambda}");
            Assert.True(Oracle.RelativeError(theta, o) < 1e-10, $"step {step}: parameters differ by {Oracle.RelativeError(theta, o)}");
        }

        // The exact quadratic makes ρ = 1 whenever the model predicts a decrease: both branches of the rule were taken.
        Assert.Contains(ratios, r => Math.Abs(r - 1) < 1e-9);
    }

    private static double Rel(double expected, double actual) => Math.Abs(expected - actual) / Math.Max(Math.Abs(expected), 1e-300);

    private static double Dot(double[] u, double[] v) => u.Zip(v, (p, q) => p * q).Sum();

    private static double Quad(double[,] h, double[] u, double[] v)
    {
        double s = 0;
        for (int i = 0; i < u.Length; i++)
        {
            for (int j = 0; j < v.Length; j++)
            {
                s += u[i] * h[i, j] * v[j];
            }
        }

        return s;
    }

    private sealed class DenseProducts(double[,] h) : ICurvatureProducts<double>
    {
        public void Multiply(ReadOnlySpan<double> vector, Span<double> result)
        {
            for (int i = 0; i < result.Length; i++)
            {
                double s = 0;
                for (int j = 0; j < vector.Length; j++)
                {
                    s += h[i, j] * vector[j];
                }

                result[i] = s;
            }
        }
    }
}
