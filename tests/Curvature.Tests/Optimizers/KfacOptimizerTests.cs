using Curvature.Backends.Managed;
using Curvature.Damping;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.Serialization;
using Xunit;
using static Curvature.Tests.Optimizers.OptimizerHarness;
using Oracle = Curvature.Tests.Kfac.DenseOracle;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// <see cref="KfacOptimizer{T}"/> on one dense layer against dense float64 oracles: running factors (bias-corrected moving
/// average, burn-in), the preconditioned gradient for every damping mode, the step rule, cached inverses, rejected input,
/// allocation, reset and checkpoints. Factors of a mean-reduced loss: <c>A = Σ x̃x̃ᵀ/N</c> (x̃ = [x | 1] for a joint
/// bias), <c>G = N Σ g gᵀ</c>.
/// </summary>
public class KfacOptimizerTests
{
    private const int In = 3, Out = 2;
    private static readonly ManagedBackend Backend = new();

    private static ModelSpec Model(bool separate = false) => new([LayerSpec.Linear("fc", In, Out)], separate);

    private static KfacOptimizerOptions Fixed(double damping, DampingMode mode = DampingMode.Plain) => new()
    {
        Damping = damping,
        DampingMode = mode,
        DampingAdaptation = DampingAdaptation.Fixed,
        KlClip = null,
        Momentum = 0,
        InverseUpdatePeriod = 1,
    };

    /// <summary>One dense observation: inputs [N, In] and the loss gradients at the output [1, N, Out].</summary>
    private sealed record Batch(double[] X, double[] G, int N)
    {
        public static Batch Draw(Random rng, int n, double scale = 0.1) =>
            new(Random<double>(rng, n * In), Random<double>(rng, n * Out, scale), n);

        public void ObserveBy(CurvatureOptimizer<double> optimizer, string layer = "fc") =>
            Assert.True(optimizer.Observe(layer, X, [N, In], G, [1, N, Out]));

        /// <summary>A = Σ x̃ x̃ᵀ / N.</summary>
        public double[,] A(bool ones)
        {
            int d = In + (ones ? 1 : 0);
            var a = new double[d, d];
            for (int r = 0; r < N; r++)
            {
                for (int i = 0; i < d; i++)
                {
                    for (int j = 0; j < d; j++)
                    {
                        a[i, j] += Xt(r, i) * Xt(r, j) / N;
                    }
                }
            }

            return a;
        }

        /// <summary>G = N Σ g gᵀ.</summary>
        public double[,] Gf()
        {
            var g = new double[Out, Out];
            for (int r = 0; r < N; r++)
            {
                for (int i = 0; i < Out; i++)
                {
                    for (int j = 0; j < Out; j++)
                    {
                        g[i, j] += N * G[(r * Out) + i] * G[(r * Out) + j];
                    }
                }
            }

            return g;
        }

        private double Xt(int r, int c) => c < In ? X[(r * In) + c] : 1.0;
    }

    private static double[,] Combine(double[,] a, double wa, double[,] b, double wb)
    {
        var r = new double[a.GetLength(0), a.GetLength(1)];
        for (int i = 0; i < r.GetLength(0); i++)
        {
            for (int j = 0; j < r.GetLength(1); j++)
            {
                r[i, j] = (wa * a[i, j]) + (wb * b[i, j]);
            }
        }

        return r;
    }

    /// <summary>(G, A) of the joint block from the committed statistics (layout G, then A).</summary>
    private static (double[,] G, double[,] A) Factors(KfacOptimizer<double> optimizer)
    {
        var s = LayerStatistics(optimizer, "fc");
        return (Oracle.FromFlat(s.AsSpan(0, Out * Out), Out, Out), Oracle.FromFlat(s.AsSpan(Out * Out, (In + 1) * (In + 1)), In + 1, In + 1));
    }

    [Fact]
    public void Statistics_FirstBatchIsTheFactors_ThenABiasCorrectedMovingAverage_WithBurnIn()
    {
        var rng = new Random(1);
        var batches = new[] { Batch.Draw(rng, 5), Batch.Draw(rng, 4), Batch.Draw(rng, 6) };
        foreach (int burnIn in new[] { 0, 2 })
        {
            var (values, grads) = Bind<double>(Model(), new Random(2));
            using var kfac = new KfacOptimizer<double>(Backend, Model(), values, grads, Fixed(0.1) with { StatisticsDecay = 0.9, BurnInUpdates = burnIn });
            double weight = 0;
            double[,]? g = null, a = null;
            for (int k = 0; k < batches.Length; k++)
            {
                batches[k].ObserveBy(kfac);
                kfac.Precondition();

                // w_k = β w_{k−1} + 1 (uniform while k ≤ burn-in): the statistic is Σ β^(k−i) S_i / Σ β^(k−i).
                weight = (k < burnIn ? weight : 0.9 * weight) + 1;
                g = g is null ? batches[k].Gf() : Combine(g, 1 - (1 / weight), batches[k].Gf(), 1 / weight);
                a = a is null ? batches[k].A(ones: true) : Combine(a, 1 - (1 / weight), batches[k].A(ones: true), 1 / weight);
                var (actualG, actualA) = Factors(kfac);
                Assert.True(Oracle.RelativeError(actualG, g) < 1e-14, $"burn-in {burnIn}, update {k}: G {Oracle.RelativeError(actualG, g)}");
                Assert.True(Oracle.RelativeError(actualA, a) < 1e-14, $"burn-in {burnIn}, update {k}: A {Oracle.RelativeError(actualA, a)}");
            }

            // Spelled out for the last update: (β(S₁ + S₂) + S₃)/(2β + 1) with burn-in 2, (β²S₁ + βS₂ + S₃)/(β² + β + 1) without.
            var expected = burnIn == 2
                ? Combine(Combine(batches[0].Gf(), 0.9, batches[1].Gf(), 0.9), 1 / 2.8, batches[2].Gf(), 1 / 2.8)
                : Combine(Combine(batches[0].Gf(), 0.81, batches[1].Gf(), 0.9), 1 / 2.71, batches[2].Gf(), 1 / 2.71);
            Assert.True(Oracle.RelativeError(Factors(kfac).G, expected) < 1e-14);
        }
    }

    public static TheoryData<DampingMode, bool> DampingCases()
    {
        var data = new TheoryData<DampingMode, bool>();
        foreach (var mode in new[] { DampingMode.Plain, DampingMode.Heuristic, DampingMode.TraceScaled, DampingMode.Exact })
        {
            data.Add(mode, false);
            data.Add(mode, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DampingCases))]
    public void Precondition_EqualsDenseDampedSolve(DampingMode mode, bool separate)
    {
        const double delta = 0.05;
        var rng = new Random(2);
        var model = Model(separate);
        var (values, grads) = Bind<double>(model, rng);
        using var kfac = new KfacOptimizer<double>(Backend, model, values, grads, Fixed(delta, mode));
        var batch = Batch.Draw(rng, 6, 0.5);
        batch.ObserveBy(kfac);
        FillGradients<double>(grads, rng, 1);
        var gw = grads.Get<double>("fc.weight").Span.ToArray();
        var gb = grads.Get<double>("fc.bias").Span.ToArray();
        kfac.Precondition();
        var dw = grads.Get<double>("fc.weight").Span.ToArray();
        var db = grads.Get<double>("fc.bias").Span.ToArray();

        var g = batch.Gf();
        double[] expectedW, expectedB;
        if (!separate)
        {
            var v = new double[Out, In + 1];
            for (int i = 0; i < Out; i++)
            {
                for (int j = 0; j < In; j++)
                {
                    v[i, j] = gw[(i * In) + j];
                }

                v[i, In] = gb[i];
            }

            var e = Solve(g, batch.A(ones: true), v, delta, mode);
            expectedW = [.. Enumerable.Range(0, Out * In).Select(k => e[k / In, k % In])];
            expectedB = [.. Enumerable.Range(0, Out).Select(i => e[i, In])];
        }
        else
        {
            expectedW = Oracle.Flat(Solve(g, batch.A(ones: false), Oracle.FromFlat(gw, Out, In), delta, mode));
            expectedB = Oracle.Flat(Solve(g, null, Oracle.FromFlat(gb, Out, 1), delta, mode));
        }

        AssertClose(expectedW, dw, 1e-12, $"{mode} weight");
        AssertClose(expectedB, db, 1e-12, $"{mode} bias");
    }

    /// <summary>The damped K-FAC solve of <paramref name="v"/> (<c>[Out, cols]</c>); <paramref name="a"/> null for a bias-only block.</summary>
    private static double[,] Solve(double[,] g, double[,]? a, double[,] v, double delta, DampingMode mode)
    {
        int rows = v.GetLength(0), cols = v.GetLength(1);
        if (mode == DampingMode.Exact)
        {
            // (G ⊗ A + δ)⁻¹ vec(V), row-major vec; a bias-only block is (G + δ)⁻¹ V.
            var kron = a is null ? g : Oracle.Kron(g, a);
            var x = Oracle.Multiply(Oracle.Inverse(Oracle.AddIdentity(kron, delta)), Oracle.FromFlat(Oracle.Flat(v), rows * cols, 1));
            return Oracle.FromFlat(Oracle.Flat(x), rows, cols);
        }

        double meanG = Trace(g) / rows, meanA = a is null ? 0 : Trace(a) / cols;
        double pi = a is null ? 1 : Math.Sqrt(meanA / meanG);
        var (dG, dA) = mode switch
        {
            DampingMode.Plain => (delta, delta),
            DampingMode.Heuristic => a is null ? (delta, 0) : (Math.Sqrt(delta) / pi, Math.Sqrt(delta) * pi),
            _ => (delta * meanG, delta * meanA),
        };
        var left = Oracle.Multiply(Oracle.Inverse(Oracle.AddIdentity(g, dG)), v);
        return a is null ? left : Oracle.Multiply(left, Oracle.Inverse(Oracle.AddIdentity(a, dA)));
    }

    private static double Trace(double[,] m)
    {
        double t = 0;
        for (int i = 0; i < m.GetLength(0); i++)
        {
            t += m[i, i];
        }

        return t;
    }

    [Fact]
    public void Step_IsMinusLearningRateTimesHeavyBallOfThePreconditionedGradient()
    {
        var rng = new Random(3);
        var model = Model();
        var (values, grads) = Bind<double>(model, rng);
        var (twinValues, twinGrads) = Bind<double>(model, new Random(99));
        var options = Fixed(0.05, DampingMode.Heuristic) with { LearningRate = 0.5, Momentum = 0.25 };
        using var stepper = new KfacOptimizer<double>(Backend, model, values, grads, options);
        using var twin = new KfacOptimizer<double>(Backend, model, twinValues, twinGrads, options);
        var velocity = new double[model.Dimension];
        for (int k = 0; k < 3; k++)
        {
            var batch = Batch.Draw(rng, 5);
            var gradient = Random<double>(rng, model.Dimension);
            batch.ObserveBy(stepper);
            batch.ObserveBy(twin);
            foreach (var p in model.Parameters)
            {
                gradient.AsSpan(p.Offset, p.Length).CopyTo(grads.Get<double>(p.Name).Span);
                gradient.AsSpan(p.Offset, p.Length).CopyTo(twinGrads.Get<double>(p.Name).Span);
            }

            var before = Flat<double>(model, values);
            var result = stepper.Step(1.0);
            twin.Precondition();
            var direction = Flat<double>(model, twinGrads);

            // v ← μ v + d, θ ← θ − η v (torch.optim.SGD with momentum).
            var expected = new double[before.Length];
            for (int i = 0; i < before.Length; i++)
            {
                velocity[i] = (k == 0 ? 0 : 0.25 * velocity[i]) + direction[i];
                expected[i] = before[i] + (-0.5 * velocity[i]);
            }

            Assert.Equal(expected, Flat<double>(model, values));
            Assert.Equal((k, 0.5, 0.25, 0.05, 1.0), (result.Step, result.LearningRate, result.Momentum, result.Damping, result.ClipScale));
        }
    }

    [Fact]
    public void RejectedCalls_RaiseTypedErrors_AndLeaveAllStateBitForBit()
    {
        var rng = new Random(4);
        var model = Model();
        var options = new KfacOptimizerOptions { InverseUpdatePeriod = 2, Damping = 1e-2 };
        var (values, grads) = Bind<double>(model, new Random(5));
        var (twinValues, twinGrads) = Bind<double>(model, new Random(5));
        using var kfac = new KfacOptimizer<double>(Backend, model, values, grads, options);
        using var twin = new KfacOptimizer<double>(Backend, model, twinValues, twinGrads, options);
        for (int k = 0; k < 3; k++)
        {
            var b = Batch.Draw(rng, 6);
            var gradient = Random<double>(rng, model.Dimension, 0.1);
            foreach (var (opt, set) in new[] { (kfac, grads), (twin, twinGrads) })
            {
                b.ObserveBy(opt);
                foreach (var p in model.Parameters)
                {
                    gradient.AsSpan(p.Offset, p.Length).CopyTo(set.Get<double>(p.Name).Span);
                }

                opt.Step(1.0 - (0.1 * k));
            }
        }

        // Both stage the next observation; only one receives the bad calls.
        var next = Batch.Draw(rng, 6);
        next.ObserveBy(kfac);
        next.ObserveBy(twin);
        FillGradients<double>(grads, new Random(6));
        FillGradients<double>(twinGrads, new Random(6));
        var before = State(kfac, values);

        var nan = Random<double>(rng, 4 * In);
        nan[5] = double.NaN;
        var inf = Random<double>(rng, 4 * Out);
        inf[0] = double.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => kfac.Observe("fc", nan, [4, In], Random<double>(rng, 4 * Out), [1, 4, Out]));
        Assert.Throws<ArgumentException>(() => kfac.Observe("fc", Random<double>(rng, 4 * In), [4, In], inf, [1, 4, Out]));
        Assert.Throws<ArgumentException>(() => kfac.Observe("fc", [], [0, In], [], [1, 0, Out]));
        Assert.Throws<ArgumentException>(() => kfac.Observe("fc", Random<double>(rng, 4 * 4), [4, 4], Random<double>(rng, 4 * Out), [1, 4, Out]));
        Assert.Throws<ArgumentException>(() => kfac.Observe("fc", Random<double>(rng, 4 * In), [4, In], Random<double>(rng, 3 * Out), [1, 3, Out]));
        Assert.Throws<ArgumentException>(() => kfac.Observe("fc", Random<double>(rng, 4 * In), [4, In], Random<double>(rng, 5), [1, 4, Out]));
        Assert.Throws<ArgumentException>(() => kfac.Observe("nope", Random<double>(rng, 4 * In), [4, In], Random<double>(rng, 4 * Out), [1, 4, Out]));
        Assert.Throws<ArgumentException>(() => kfac.Observe(
            "fc", new CommunityToolkit.HighPerformance.ReadOnlySpan2D<double>(new double[4 * In], 4, In), new CommunityToolkit.HighPerformance.ReadOnlySpan2D<double>(new double[3 * Out], 3, Out)));
        Assert.Throws<ArgumentOutOfRangeException>(() => kfac.Damping = -1e-3);
        Assert.Throws<ArgumentOutOfRangeException>(() => kfac.Damping = double.NaN);
        Assert.Throws<ArgumentOutOfRangeException>(() => kfac.Damping = 0);

        // A non-finite gradient or loss rejects the whole step.
        var weightGradient = grads.Get<double>("fc.weight").Span;
        double saved = weightGradient[2];
        weightGradient[2] = double.NaN;
        Assert.Equal(StepRejectionReason.NonFiniteGradient, Assert.Throws<StepRejectedException>(() => kfac.Step(0.5)).Reason);
        Assert.Equal(StepRejectionReason.NonFiniteGradient, Assert.Throws<StepRejectedException>(() => kfac.Precondition()).Reason);
        weightGradient[2] = saved;
        Assert.Equal(StepRejectionReason.NonFiniteLoss, Assert.Throws<StepRejectedException>(() => kfac.Step(double.NaN)).Reason);
        Assert.Equal(before, State(kfac, values));

        // The staged observation survived: both now take identical steps.
        kfac.Step(0.5);
        twin.Step(0.5);
        Assert.Equal(State(twin, twinValues), State(kfac, values));
    }

    [Fact]
    public void FailedInverse_RaisesAndLeavesAllStateBitForBit()
    {
        // A single example makes A rank one; with a negligible damping its Cholesky factorization fails.
        var model = Model();
        var options = Fixed(1e-300) with { StatisticsDecay = 0 };
        var (values, grads) = Bind<double>(model, new Random(7));
        using var kfac = new KfacOptimizer<double>(Backend, model, values, grads, options with { Damping = 0.1 });
        var rng = new Random(8);
        Batch.Draw(rng, 6).ObserveBy(kfac);
        FillGradients<double>(grads, rng);
        kfac.Step(double.NaN);
        kfac.Damping = 1e-300;
        Batch.Draw(rng, 1).ObserveBy(kfac);
        FillGradients<double>(grads, rng);
        var before = State(kfac, values);
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => kfac.Step(double.NaN));
        Assert.Equal(before, State(kfac, values));
        Assert.Throws<MatrixNotPositiveDefiniteException>(() => kfac.Precondition());
        Assert.Equal(before, State(kfac, values));
    }

    [Fact]
    public void Inverses_AreCached_AndRefreshedEveryPeriod_WithTheDampingOfTheRefresh()
    {
        var rng = new Random(5);
        var model = Model();
        var options = Fixed(0.1) with { InverseUpdatePeriod = 3 };
        var batches = Enumerable.Range(0, 7).Select(_ => Batch.Draw(rng, 5)).ToArray();
        var gradient = Random<double>(rng, model.Dimension);

        double[] Precondition(KfacOptimizer<double> optimizer, ParameterSet grads)
        {
            foreach (var p in model.Parameters)
            {
                gradient.AsSpan(p.Offset, p.Length).CopyTo(grads.Get<double>(p.Name).Span);
            }

            optimizer.Precondition();
            return Flat<double>(model, grads);
        }

        var (firstValues, firstGrads) = Bind<double>(model, new Random(1));
        using var first = new KfacOptimizer<double>(Backend, model, firstValues, firstGrads, options);
        batches[0].ObserveBy(first);
        var fromFirstBatch = Precondition(first, firstGrads);

        var (values, grads) = Bind<double>(model, new Random(1));
        using var kfac = new KfacOptimizer<double>(Backend, model, values, grads, options);
        var results = new List<double[]>();
        for (int k = 0; k < batches.Length; k++)
        {
            if (k == 4)
            {
                kfac.Damping = 0.2; // used from the next refresh on
            }

            batches[k].ObserveBy(kfac);
            results.Add(Precondition(kfac, grads));
        }

        Assert.Equal(fromFirstBatch, results[0]);
        Assert.Equal(fromFirstBatch, results[1]); // steps 1 and 2 reuse the inverse of step 0
        Assert.Equal(fromFirstBatch, results[2]);
        Assert.NotEqual(fromFirstBatch, results[3]);
        Assert.Equal(results[3], results[4]);     // the new damping waits for the refresh of step 6
        Assert.Equal(results[3], results[5]);

        // Step 6 refreshes from the running factors with λ = 0.2.
        var (g, a) = Factors(kfac);
        var v = new double[Out, In + 1];
        for (int i = 0; i < Out; i++)
        {
            for (int j = 0; j <= In; j++)
            {
                v[i, j] = j < In ? gradient[(i * In) + j] : gradient[(Out * In) + i];
            }
        }

        var e = Oracle.Multiply(Oracle.Multiply(Oracle.Inverse(Oracle.AddIdentity(g, 0.2)), v), Oracle.Inverse(Oracle.AddIdentity(a, 0.2)));
        double[] expected = [.. Enumerable.Range(0, Out * In).Select(k => e[k / In, k % In]), .. Enumerable.Range(0, Out).Select(i => e[i, In])];
        AssertClose(expected, results[6], 1e-12, "refresh with the new damping");
    }

    [Fact]
    public void Reset_ReturnsToTheFreshState_AndNeedsNewObservations()
    {
        var rng = new Random(7);
        var model = Model();
        var (values, grads) = Bind<double>(model, new Random(1));
        var (freshValues, freshGrads) = Bind<double>(model, new Random(1));
        using var kfac = new KfacOptimizer<double>(Backend, model, values, grads);
        using var fresh = new KfacOptimizer<double>(Backend, model, freshValues, freshGrads);
        for (int k = 0; k < 3; k++)
        {
            Batch.Draw(rng, 4).ObserveBy(kfac);
            FillGradients<double>(grads, rng);
            kfac.Step(1.0 / (k + 1));
        }

        kfac.Damping = 0.5;
        var parameters = Flat<double>(model, values);
        Assert.NotEqual(Save(fresh), Save(kfac));
        kfac.Reset();
        Assert.Equal(Save(fresh), Save(kfac));
        Assert.Equal(parameters, Flat<double>(model, values)); // the parameters are the caller's
        Assert.Equal(0, kfac.StepCount);
        Assert.Equal(kfac.Options.Damping, kfac.Damping);
        Assert.Equal(StepRejectionReason.MissingStatistics, Assert.Throws<StepRejectedException>(() => kfac.Step(1.0)).Reason);
    }

    [Fact]
    public void Checkpoint_RoundTripsExactly_AndContinuesIdentically()
    {
        var rng = new Random(8);
        var model = Model();
        var options = new KfacOptimizerOptions { InverseUpdatePeriod = 2, DampingAdaptationInterval = 2, StatisticsDecay = 0.8 };
        var (values, grads) = Bind<double>(model, new Random(1));
        using var p = new KfacOptimizer<double>(Backend, model, values, grads, options);
        for (int k = 0; k < 4; k++)
        {
            Batch.Draw(rng, 5).ObserveBy(p);
            FillGradients<double>(grads, rng);
            p.Step(1.0 - (0.2 * k)); // the inverse of step 2 is used with the factors of step 3; a damping adaptation is pending
        }

        byte[] bytes = Save(p);
        var (qValues, qGrads) = Bind<double>(model, new Random(2));
        using var q = new KfacOptimizer<double>(Backend, model, qValues, qGrads, options with { Damping = 0.5 });
        CopyInto<double>(values, qValues);
        q.Load(new MemoryStream(bytes));
        Assert.Equal(bytes, Save(q));
        Assert.Equal((p.StepCount, p.Damping), (q.StepCount, q.Damping));
        Assert.Equal(LayerStatistics(p, "fc"), LayerStatistics(q, "fc"));

        for (int k = 0; k < 4; k++)
        {
            var b = Batch.Draw(rng, 3 + k);
            var gradient = Random<double>(rng, model.Dimension, 0.1);
            foreach (var (opt, set) in new[] { (p, grads), (q, qGrads) })
            {
                b.ObserveBy(opt);
                foreach (var spec in model.Parameters)
                {
                    gradient.AsSpan(spec.Offset, spec.Length).CopyTo(set.Get<double>(spec.Name).Span);
                }

                opt.Step(0.3 / (k + 1));
            }

            Assert.Equal(State(p, values), State(q, qValues));
        }
    }

    [Fact]
    public void Checkpoint_TruncatedCorruptedOrMismatched_IsRejected_AndStateUntouched()
    {
        var rng = new Random(9);
        var model = Model();
        var (sourceValues, sourceGrads) = Bind<double>(model, new Random(1));
        using var source = new KfacOptimizer<double>(Backend, model, sourceValues, sourceGrads);
        Batch.Draw(rng, 5).ObserveBy(source);
        FillGradients<double>(sourceGrads, rng);
        source.Step(1.0);
        byte[] bytes = Save(source);

        var (values, grads) = Bind<double>(model, new Random(2));
        using var target = new KfacOptimizer<double>(Backend, model, values, grads, new KfacOptimizerOptions { Damping = 0.5 });
        Batch.Draw(rng, 4).ObserveBy(target);
        FillGradients<double>(grads, rng);
        target.Step(2.0);
        var before = State(target, values);

        for (int length = 0; length < bytes.Length; length += 7)
        {
            Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(bytes[..length])));
        }

        for (int i = 0; i < bytes.Length; i += 5)
        {
            var copy = (byte[])bytes.Clone();
            copy[i] ^= 0x10;
            Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(copy)));
        }

        // Another layer width, the separate-bias layout, float state, another damping mode, another optimizer.
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(SavedAfterOneStep(new ModelSpec([LayerSpec.Linear("fc", In + 1, Out)]), (m, v, g) => new KfacOptimizer<double>(Backend, m, v, g)))));
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(SavedAfterOneStep(Model(separate: true), (m, v, g) => new KfacOptimizer<double>(Backend, m, v, g)))));
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(SavedAfterOneStep(Model(), (m, v, g) => new KfacOptimizer<double>(Backend, m, v, g, new KfacOptimizerOptions { DampingMode = DampingMode.Exact })))));
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(SavedAfterOneStep(Model(), (m, v, g) => new EkfacOptimizer<double>(Backend, m, v, g)))));
        var (floatValues, floatGrads) = Bind<float>(model, new Random(3));
        using var single = new KfacOptimizer<float>(Backend, model, floatValues, floatGrads);
        Assert.Throws<CheckpointFormatException>(() => target.Load(new MemoryStream(Save(single))));
        Assert.Equal(before, State(target, values));
        Assert.Equal(0.5, target.Damping);
    }

    private static byte[] SavedAfterOneStep(ModelSpec model, Func<ModelSpec, ParameterSet, ParameterSet, CurvatureOptimizer<double>> create)
    {
        var rng = new Random(10);
        var (values, grads) = Bind<double>(model, rng);
        using var optimizer = create(model, values, grads);
        int din = model.Layers[0].WeightInputSize;
        optimizer.Observe("fc", Random<double>(rng, 4 * din), [4, din], Random<double>(rng, 4 * Out, 0.1), [1, 4, Out]);
        FillGradients<double>(grads, rng);
        optimizer.Step(1.0);
        return Save(optimizer);
    }
}
