using Curvature.AdaFisher;
using Curvature.Backends.Managed;
using Curvature.Layers;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Curvature.Serialization;
using Xunit;
using static Curvature.Tests.Optimizers.AdaFisherTestModels;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// <see cref="AdaFisherOptimizer{T}"/>: principled-mode hand computations (factors are the diagonals of the K-FAC factors
/// of the mean loss, <c>H_j = Σ x_j²/R</c>, <c>S_i = N Σ g_i²</c>, averaged with bias correction; <c>F̃ = S·H + λ</c>),
/// coupled and decoupled weight decay, rejected calls, checkpoints, reset, options and float.
/// </summary>
public class AdaFisherOptimizerTests
{
    private static readonly ManagedBackend Backend = new();

    private static AdaFisherOptimizerOptions Principled() => new()
    {
        LearningRate = 0.1,
        StatisticsDecay = 0.5,
        Damping = 0.1,
        Beta = 0.5,
        KlClip = null,
    };

    private static (AdaFisherOptimizer<double> Optimizer, ParameterSet Values, ParameterSet Gradients) Create(ModelSpec model, AdaFisherOptimizerOptions options, params double[][] initialValues)
    {
        var values = new ParameterSet();
        var grads = new ParameterSet();
        for (int i = 0; i < model.Parameters.Count; i++)
        {
            var p = model.Parameters[i];
            values.Add(p.Name, i < initialValues.Length ? initialValues[i] : new double[p.Length], p.Shape);
            grads.Add(p.Name, new double[p.Length], p.Shape);
        }

        return (new AdaFisherOptimizer<double>(Backend, model, values, grads, options), values, grads);
    }

    [Fact]
    public void DefaultMode_IsPrincipled()
    {
        Assert.Equal(AdaFisherMode.Principled, new AdaFisherOptimizerOptions().Mode);
    }

    [Fact]
    public void TwoSteps_Linear_MatchHandComputation()
    {
        var (opt, values, grads) = Create(new ModelSpec([LayerSpec.Linear("fc", 2, 1)]), Principled(), [1, 1], [0]);
        using var _ = opt;
        var w = values.Get<double>("fc.weight").Span;
        var b = values.Get<double>("fc.bias").Span;

        // Step 1: a = [[1, 2], [3, 0]], g = [0.5, −0.5] (mean loss over N = 2).
        // H = [(1+9)/2, (4+0)/2, 1] = [5, 2, 1];  S = N·Σg² = 2·0.5 = 1 (the first update is the batch's statistics).
        opt.Observe("fc", [1, 2, 3, 0], [2, 2], [0.5, -0.5], [1, 2, 1]);
        grads.Get<double>("fc.weight").Span[0] = 0.2;
        grads.Get<double>("fc.weight").Span[1] = -0.4;
        grads.Get<double>("fc.bias").Span[0] = 0.1;
        opt.Step(double.NaN);
        Assert.Equal([5.0, 2.0, 1.0], opt.InputFactor("fc").ToArray());
        Assert.Equal([1.0], opt.OutputFactor("fc").ToArray());

        // m = 0.5·g; m̂ = m / (1 − 0.5) = g; F̃ = S·H + 0.1 = [5.1, 2.1 | 1.1].
        double w10 = 1 - (0.1 * 0.2 / 5.1), w11 = 1 + (0.1 * 0.4 / 2.1), b1 = -(0.1 * 0.1 / 1.1);
        Assert.Equal(w10, w[0], 1e-15);
        Assert.Equal(w11, w[1], 1e-15);
        Assert.Equal(b1, b[0], 1e-15);

        // Step 2: a = [[0, 1], [1, 1]], g = [1, 0]: Ĥ = [0.5, 1, 1], Ŝ = 2·1 = 2. Bias-corrected average with decay 0.5:
        // weights 1 and 1.5, so F = (1/3)·F₁ + (2/3)·F̂: H = [2, 4/3, 1], S = 5/3.
        opt.Observe("fc", [0, 1, 1, 1], [2, 2], [1, 0], [1, 2, 1]);
        grads.Get<double>("fc.weight").Span[0] = 0.2;
        grads.Get<double>("fc.weight").Span[1] = 0.2;
        grads.Get<double>("fc.bias").Span[0] = -0.1;
        opt.Step(double.NaN);
        AssertClose([2.0, 4.0 / 3, 1.0], opt.InputFactor("fc"), 1e-15, "H");
        AssertClose([5.0 / 3], opt.OutputFactor("fc"), 1e-15, "S");

        // m = 0.5·[0.1, −0.2 | 0.05] + 0.5·[0.2, 0.2 | −0.1] = [0.15, 0 | −0.025]; bias correction 1 − 0.25 = 0.75.
        // F̃ = [5/3·2 + 0.1, 5/3·4/3 + 0.1 | 5/3 + 0.1].
        Assert.Equal(w10 - (0.1 * (0.15 / 0.75) / ((10.0 / 3) + 0.1)), w[0], 1e-15);
        Assert.Equal(w11, w[1], 1e-15);
        Assert.Equal(b1 - (0.1 * (-0.025 / 0.75) / ((5.0 / 3) + 0.1)), b[0], 1e-15);
        AssertClose([0.15, 0.0, -0.025], opt.FirstMoment, 1e-16, "first moment");
    }

    [Fact]
    public void DecoupledWeightDecay_AdaFisherW_AddsLearningRateTimesDecay()
    {
        var (opt, values, grads) = Create(new ModelSpec([LayerSpec.Linear("fc", 1, 1, bias: false)]), Principled() with { WeightDecay = 0.3, WeightDecayMode = WeightDecayMode.Decoupled }, [2]);
        using var _ = opt;

        // a = [1], g = [1], N = 1: H = 1, S = 1, F̃ = 1.1. Gradient 0.5 → m = 0.25, m̂ = 0.5.
        opt.Observe("fc", [1], [1, 1], [1], [1, 1, 1]);
        grads.Get<double>("fc.weight").Span[0] = 0.5;
        opt.Step(double.NaN);
        Assert.Equal(2 - (0.1 * ((0.5 / 1.1) + (0.3 * 2))), values.Get<double>("fc.weight").Span[0], 1e-15);
    }

    [Fact]
    public void CoupledWeightDecay_AdaFisher_AddsDecayToTheGradient()
    {
        var (opt, values, grads) = Create(new ModelSpec([LayerSpec.Linear("fc", 1, 1, bias: false)]), Principled() with { WeightDecay = 0.3 }, [2]);
        using var _ = opt;
        opt.Observe("fc", [1], [1, 1], [1], [1, 1, 1]);
        grads.Get<double>("fc.weight").Span[0] = 0.5;
        opt.Step(double.NaN);

        // g' = 0.5 + 0.3·2 = 1.1; m = 0.55; m̂ = 1.1; F̃ = 1.1 → step 0.1.
        Assert.Equal(2 - 0.1, values.Get<double>("fc.weight").Span[0], 1e-15);
    }

    [Fact]
    public void Conv2d_AveragesOverLocations_AndHonoursDilation()
    {
        // 3×3 image 1..9, 2×2 kernel with dilation 2: one location, patch [1, 3, 7, 9].
        var geometry = new Conv2dGeometry(1, 1, 2, 2, dilationHeight: 2, dilationWidth: 2);
        var (opt, _, _) = Create(new ModelSpec([LayerSpec.Conv2d("c", geometry)]), Principled());
        using var __ = opt;
        opt.Observe("c", [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], [0.5], [1, 1, 1, 1, 1]);
        opt.Step(double.NaN);
        Assert.Equal([1.0, 9.0, 49.0, 81.0, 1.0], opt.InputFactor("c").ToArray());
        Assert.Equal([0.25], opt.OutputFactor("c").ToArray());
    }

    [Fact]
    public void Conv2d_TwoLocations_AveragesHOverNL_AndSumsSOverLocations()
    {
        // 1×2×3 image [1 2 3; 4 5 6], 2×2 kernel: patches [1 2 4 5], [2 3 5 6]; H is the mean over N·L = 2 rows.
        var (opt, _, _) = Create(new ModelSpec([LayerSpec.Conv2d("c", new Conv2dGeometry(1, 1, 2, 2), bias: false)]), Principled());
        using var _ = opt;
        opt.Observe("c", [1, 2, 3, 4, 5, 6], [1, 1, 2, 3], [0.5, 0.25], [1, 1, 1, 1, 2]);
        opt.Step(double.NaN);
        Assert.Equal([2.5, 6.5, 20.5, 30.5], opt.InputFactor("c").ToArray());

        // S = N Σ over locations of g² (curvlinops' expand convention, N = 1): 0.25 + 0.0625.
        Assert.Equal([0.3125], opt.OutputFactor("c").ToArray());
    }

    [Fact]
    public void SequenceInput_LinearRows_AreAllPositions()
    {
        var (opt, _, _) = Create(new ModelSpec([LayerSpec.Linear("fc", 1, 1, bias: false)]), Principled());
        using var _ = opt;

        // [N = 2, S = 2, 1]: H = mean over 4 rows of a² = (1 + 4 + 9 + 16)/4; S = N·Σg² = 2·(4·0.01).
        opt.Observe("fc", [1, 2, 3, 4], [2, 2, 1], [0.1, 0.1, -0.1, 0.1], [1, 2, 2, 1]);
        opt.Step(double.NaN);
        Assert.Equal(7.5, opt.InputFactor("fc")[0], 1e-15);
        Assert.Equal(0.08, opt.OutputFactor("fc")[0], 1e-15);
    }

    [Fact]
    public void Embedding_IndexFrequencies_TimesOutputGradientSquares()
    {
        var (opt, values, grads) = Create(new ModelSpec([LayerSpec.Embedding("emb", 4, 2)]), Principled() with { Beta = 0 });
        using var _ = opt;

        // Indices [N = 2, S = 3] = [[0, 1, 1], [3, 1, 0]]: H = counts / 6 = [2, 3, 0, 1]/6; S_j = N·Σ g_j² over the 6 rows.
        double[] g = [0.1, -0.2, 0.3, 0.0, -0.1, 0.1, 0.2, 0.2, 0.0, 0.1, -0.3, 0.4];
        opt.Observe("emb", [0, 1, 1, 3, 1, 0], [2, 3], g, [1, 2, 3, 2]);
        var gradient = AdaFisherTestModels.Random(new Random(1), 8, 0.1);
        gradient.CopyTo(grads.Get<double>("emb.weight").Span);
        opt.Step(double.NaN);
        double[] h = [2 / 6.0, 3 / 6.0, 0, 1 / 6.0];
        double[] s = [2 * (0.01 + 0.09 + 0.01 + 0.04 + 0.0 + 0.09), 2 * (0.04 + 0.0 + 0.01 + 0.04 + 0.01 + 0.16)];
        AssertClose(h, opt.InputFactor("emb"), 1e-15, "H");
        AssertClose(s, opt.OutputFactor("emb"), 1e-15, "S");

        // β = 0: m̂ = g; θ ← θ − 0.1·g / (H_v S_j + 0.1) over the [4, 2] table.
        var expected = new double[8];
        for (int v = 0; v < 4; v++)
        {
            for (int j = 0; j < 2; j++)
            {
                expected[(v * 2) + j] = -(0.1 * gradient[(v * 2) + j] / ((h[v] * s[j]) + 0.1));
            }
        }

        AssertClose(expected, values.Get<double>("emb.weight").Span, 1e-15, "update");
    }

    [Fact]
    public void PlainParameter_Principled_UsesTheDiagonalFisherOfItsGradient()
    {
        // F = N·g² with N the batch size of the step's observations (the gradient of a mean loss carries 1/N).
        var model = new ModelSpec([LayerSpec.Linear("fc", 2, 1), LayerSpec.Parameter("x", 3)]);
        var (opt, values, grads) = Create(model, Principled(), [0, 0], [0], [1, 2, 3]);
        using var _ = opt;
        opt.Observe("fc", [1, 0, 0, 1, 1, 1, 0, 0], [4, 2], [0.1, 0.2, 0.3, 0.4], [1, 4, 1]);
        double[] g = [0.3, -0.1, 0.2];
        g.CopyTo(grads.Get<double>("x").Span);
        opt.Step(double.NaN);
        var x = values.Get<double>("x").Span;
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal((i + 1) - (0.1 * g[i] / ((4 * g[i] * g[i]) + 0.1)), x[i], 1e-15);
        }
    }

    private static LayerCase[] RobustnessLayers() =>
    [
        LayerCase.Conv("conv", [2, 2, 4, 4], new Conv2dGeometry(2, 3, 3, 3, paddingHeight: 1, paddingWidth: 1), bias: true),
        LayerCase.BatchNorm("bn", [2, 3, 4, 4], bias: true),
        LayerCase.Linear("fc", [2, 3, 4], 2, bias: true),
        LayerCase.LayerNorm("ln", [2, 3, 2], bias: true),
    ];

    public static TheoryData<AdaFisherMode> Modes => new() { AdaFisherMode.Principled, AdaFisherMode.OfficialCompatible };

    private static AdaFisherOptimizerOptions OptionsFor(AdaFisherMode mode, int period = 1) => mode == AdaFisherMode.Principled
        ? new AdaFisherOptimizerOptions { StatisticsUpdatePeriod = period }
        : AdaFisherOptimizerOptions.Official(tCov: period, weightDecay: 1e-3);

    private static byte[] Snapshot(AdaFisherSetup setup) => OptimizerHarness.State(setup.Optimizer, setup.Values);

    [Theory]
    [MemberData(nameof(Modes))]
    public void BadCalls_LeaveStateUnchanged(AdaFisherMode mode)
    {
        using var a = Build(OptionsFor(mode), RobustnessLayers(), [10], new Random(1));
        using var b = Build(OptionsFor(mode), RobustnessLayers(), [10], new Random(1));
        var rngA = new Random(2);
        var rngB = new Random(2);
        for (int t = 0; t < 2; t++)
        {
            FeedStep(a, rngA);
            a.Optimizer.Step(double.NaN);
            FeedStep(b, rngB);
            b.Optimizer.Step(double.NaN);
        }

        // Both observe the next step's statistics; only A then receives bad calls.
        FeedStep(a, rngA);
        FeedStep(b, rngB);
        var before = Snapshot(a);
        var opt = a.Optimizer;
        var fcIn = new double[2 * 3 * 4];
        var fcOut = new double[2 * 3 * 2];
        Assert.Throws<ArgumentException>(() => opt.Observe("fc", fcIn, [2, 3, 5], fcOut, [1, 2, 3, 2]));          // wrong feature count
        Assert.Throws<ArgumentException>(() => opt.Observe("fc", fcIn, [2, 3, 4], new double[5], [1, 2, 3, 2])); // wrong gradient length
        Assert.Throws<ArgumentException>(() => opt.Observe("fc", fcIn, [2, 3, 4], new double[24], [2, 2, 3, 2])); // two vectors: AdaFisher is empirical
        Assert.Throws<ArgumentException>(() => opt.Observe("conv", new double[64], [2, 2, 4, 4], new double[3], [1, 3]));
        Assert.Throws<ArgumentException>(() => opt.Observe("ln", new double[12], [2, 3, 2], new double[12], [1, 2, 3, 3]));
        Assert.Throws<ArgumentException>(() => opt.Observe("nope", fcIn, [2, 3, 4], fcOut, [1, 2, 3, 2]));
        Assert.Throws<ArgumentException>(() => opt.Observe("extra0", fcIn, [2, 3, 4], fcOut, [1, 2, 3, 2]));      // a plain parameter
        var nanInput = (double[])fcIn.Clone();
        nanInput[3] = double.NaN;
        Assert.Throws<ArgumentException>(() => opt.Observe("fc", nanInput, [2, 3, 4], fcOut, [1, 2, 3, 2]));
        var infGrad = (double[])fcOut.Clone();
        infGrad[1] = double.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => opt.Observe("fc", fcIn, [2, 3, 4], infGrad, [1, 2, 3, 2]));
        Assert.Equal(before, Snapshot(a));

        // A NaN gradient rejects the whole step.
        var grad = a.Gradients.Get<double>("fc.weight").Span;
        double saved = grad[2];
        grad[2] = double.NaN;
        Assert.Equal(StepRejectionReason.NonFiniteGradient, Assert.Throws<StepRejectedException>(() => opt.Step(double.NaN)).Reason);
        Assert.Equal(before, Snapshot(a));
        grad[2] = saved;

        // The staged statistics survived the rejected calls: A and B now take identical steps.
        a.Optimizer.Step(double.NaN);
        b.Optimizer.Step(double.NaN);
        Assert.Equal(Snapshot(b), Snapshot(a));
    }

    [Fact]
    public void MissingObservation_OnAStatisticsStep_IsRejected()
    {
        using var a = Build(OptionsFor(AdaFisherMode.OfficialCompatible), RobustnessLayers(), [], new Random(3));
        var before = Snapshot(a);
        a.Optimizer.Observe("fc", new double[24], [2, 3, 4], new double[12], [1, 2, 3, 2]);
        Assert.Equal(StepRejectionReason.MissingStatistics, Assert.Throws<StepRejectedException>(() => a.Optimizer.Step(double.NaN)).Reason);
        Assert.Equal(before, Snapshot(a));
        Assert.Equal(0, a.Optimizer.StepCount);
    }

    [Fact]
    public void Binding_IsValidated_AndLayersKeepTheirOwnFactors()
    {
        var model = new ModelSpec([LayerSpec.Linear("fc", 3, 2, bias: false), LayerSpec.Linear("fc4", 3, 2, bias: false)]);
        ParameterSet Set(params (string Name, double[] Data, int[] Shape)[] tensors)
        {
            var set = new ParameterSet();
            foreach (var (name, data, shape) in tensors)
            {
                set.Add(name, data, shape);
            }

            return set;
        }

        var good = Set(("fc.weight", new double[6], [2, 3]), ("fc4.weight", new double[6], [2, 3]));
        var grads = Set(("fc.weight", new double[6], [2, 3]), ("fc4.weight", new double[6], [2, 3]));
        Assert.Throws<ArgumentException>(() => new AdaFisherOptimizer<double>(Backend, model, Set(("fc.weight", new double[6], [2, 3])), grads));                                 // missing
        Assert.Throws<ArgumentException>(() => new AdaFisherOptimizer<double>(Backend, model, Set(("fc.weight", new double[6], [3, 2]), ("fc4.weight", new double[6], [2, 3])), grads)); // transposed
        Assert.Throws<ArgumentException>(() => new AdaFisherOptimizer<float>(Backend, model, good, grads));                                                                         // element type
        Assert.Throws<ArgumentException>(() => new AdaFisherOptimizer<double>(Backend, model, good, good));                                                                         // values = gradients

        // Two layers with same-shaped weights keep their own factors (no matching by position or shape).
        using var opt = new AdaFisherOptimizer<double>(Backend, model, good, grads, Principled());
        opt.Observe("fc", [1, 1, 1], [1, 3], [1, 1], [1, 1, 2]);
        opt.Observe("fc4", [5, 0, 0], [1, 3], [1, 0], [1, 1, 2]);
        opt.Step(double.NaN);
        Assert.Equal([1.0, 1.0, 1.0], opt.InputFactor("fc").ToArray());
        Assert.Equal([25.0, 0.0, 0.0], opt.InputFactor("fc4").ToArray());
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void SaveLoad_RoundTripsEveryPieceOfState_AndContinuesIdentically(AdaFisherMode mode)
    {
        LayerCase[] layers = [LayerCase.Linear("fc", [3, 4], 2, bias: true), LayerCase.LayerNorm("ln", [3, 2], bias: true)];
        using var a = Build(OptionsFor(mode, period: 2), layers, [5], new Random(1));
        var rng = new Random(2);
        for (int t = 0; t < 3; t++)
        {
            FeedStep(a, rng);
            a.Optimizer.Step(double.NaN);
        }

        byte[] state = OptimizerHarness.Save(a.Optimizer);
        using var b = Build(OptionsFor(mode, period: 2), layers, [5], new Random(99));
        OptimizerHarness.CopyInto<double>(a.Values, b.Values);
        b.Optimizer.Load(new MemoryStream(state));
        Assert.Equal(state, OptimizerHarness.Save(b.Optimizer));
        Assert.Equal(3, b.Optimizer.StepCount);
        Assert.Equal(a.Optimizer.InputFactor("fc").ToArray(), b.Optimizer.InputFactor("fc").ToArray());
        Assert.Equal(a.Moment("extra0").ToArray(), b.Moment("extra0").ToArray());

        // Both continue identically (statistics, moments, step counts and the statistics schedule all came across).
        var rngA = new Random(3);
        var rngB = new Random(3);
        for (int t = 0; t < 3; t++)
        {
            FeedStep(a, rngA);
            a.Optimizer.Step(double.NaN);
            FeedStep(b, rngB);
            b.Optimizer.Step(double.NaN);
        }

        Assert.Equal(Snapshot(a), Snapshot(b));
    }

    [Fact]
    public void Load_CorruptedTruncatedOrMismatched_IsRejected_StateUnchanged()
    {
        LayerCase[] layers = [LayerCase.Linear("fc", [3, 4], 2, bias: true), LayerCase.LayerNorm("ln", [3, 2], bias: true)];
        using var a = Build(OptionsFor(AdaFisherMode.Principled), layers, [5], new Random(1));
        FeedStep(a, new Random(2));
        a.Optimizer.Step(double.NaN);
        byte[] good = OptimizerHarness.Save(a.Optimizer);

        using var b = Build(OptionsFor(AdaFisherMode.Principled), layers, [5], new Random(4));
        FeedStep(b, new Random(5));
        b.Optimizer.Step(double.NaN);
        byte[] before = Snapshot(b);

        var corrupted = (byte[])good.Clone();
        corrupted[good.Length / 2] ^= 0x40;
        Assert.Throws<CheckpointFormatException>(() => b.Optimizer.Load(new MemoryStream(corrupted)));
        Assert.Throws<CheckpointFormatException>(() => b.Optimizer.Load(new MemoryStream(good[..(good.Length - 7)])));

        // Another parameter size, another layer name, the other mode, another optimizer.
        using var c = Build(OptionsFor(AdaFisherMode.Principled), layers, [6], new Random(1));
        Assert.Throws<CheckpointFormatException>(() => b.Optimizer.Load(new MemoryStream(OptimizerHarness.Save(c.Optimizer))));
        LayerCase[] renamed = [LayerCase.Linear("fc_other", [3, 4], 2, bias: true), LayerCase.LayerNorm("ln", [3, 2], bias: true)];
        using var d = Build(OptionsFor(AdaFisherMode.Principled), renamed, [5], new Random(1));
        Assert.Throws<CheckpointFormatException>(() => b.Optimizer.Load(new MemoryStream(OptimizerHarness.Save(d.Optimizer))));
        using var e = Build(OptionsFor(AdaFisherMode.OfficialCompatible), layers, [5], new Random(1));
        FeedStep(e, new Random(2));
        e.Optimizer.Step(double.NaN);
        Assert.Throws<CheckpointFormatException>(() => b.Optimizer.Load(new MemoryStream(OptimizerHarness.Save(e.Optimizer))));
        using var kfac = new KfacOptimizer<double>(Backend, b.Model, b.Values, b.Gradients);
        Assert.Throws<CheckpointFormatException>(() => b.Optimizer.Load(new MemoryStream(OptimizerHarness.Save(kfac))));
        Assert.Equal(before, Snapshot(b));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Reset_ReturnsToTheFreshState(AdaFisherMode mode)
    {
        var layers = RobustnessLayers();
        using var a = Build(OptionsFor(mode, period: 2) with { WeightDecayMode = WeightDecayMode.Decoupled }, layers, [5], new Random(1));
        using var fresh = Build(OptionsFor(mode, period: 2) with { WeightDecayMode = WeightDecayMode.Decoupled }, layers, [5], new Random(1));
        var rng = new Random(2);
        for (int t = 0; t < 3; t++)
        {
            FeedStep(a, rng);
            a.Optimizer.Step(double.NaN);
        }

        Assert.NotEqual(OptimizerHarness.Save(fresh.Optimizer), OptimizerHarness.Save(a.Optimizer));
        a.Optimizer.Reset();
        Assert.Equal(OptimizerHarness.Save(fresh.Optimizer), OptimizerHarness.Save(a.Optimizer));
        Assert.True(a.Optimizer.NeedsObservations);
        Assert.True(a.Optimizer.InputFactor("fc").IsEmpty);
    }

    [Fact]
    public void Memory_CountsTheFirstMomentWithTheStepWorkspaces()
    {
        // Linear 3 → 2 with bias: n = 8 parameters. Workspaces: the shared step's six vectors (gradient, its raw copy,
        // direction, update, velocity and its next value) and AdaFisher's three (first moment, its next value, the
        // bias-corrected moment). Statistics: H (4) and S (2), double-buffered, plus the block's staged H, S and scratch.
        var (opt, _, grads) = Create(new ModelSpec([LayerSpec.Linear("fc", 3, 2)]), Principled());
        using var _ = opt;
        opt.Observe("fc", [1, 2, 3], [1, 3], [0.1, 0.2], [1, 1, 2]);
        opt.Step(double.NaN);
        var memory = opt.Memory;
        Assert.Equal((6 + 3) * 8 * sizeof(double), memory.Workspaces);
        Assert.Equal(((2 * 6) + 4 + 2 + 4) * sizeof(double), memory.Statistics);
        Assert.Equal(0, memory.Inverses + memory.Eigenbases);
        Assert.Equal(memory.Statistics + memory.Workspaces, memory.Total);
    }

    [Fact]
    public void Options_DefaultsAndOfficialPreset_AndValidation()
    {
        var d = new AdaFisherOptimizerOptions();
        Assert.Equal(
            (AdaFisherMode.Principled, 1e-2, 0.0, 0.9, 1e-3, (double?)1e-3, DampingAdaptation.Fixed, 0.0, WeightDecayMode.Coupled, 1, 0.95),
            (d.Mode, d.LearningRate, d.Momentum, d.Beta, d.Damping, d.KlClip, d.DampingAdaptation, d.WeightDecay, d.WeightDecayMode, d.StatisticsUpdatePeriod, d.StatisticsDecay));
        var official = AdaFisherOptimizerOptions.Official();
        Assert.Equal(
            (AdaFisherMode.OfficialCompatible, 1e-3, 0.9, 1e-3, 0.8, 100, 0.0, WeightDecayMode.Coupled, (double?)null, 0.0),
            (official.Mode, official.LearningRate, official.Beta, official.Damping, official.OfficialGamma, official.StatisticsUpdatePeriod, official.WeightDecay, official.WeightDecayMode, official.KlClip, official.Momentum));
        Assert.Equal(WeightDecayMode.Decoupled, AdaFisherOptimizerOptions.Official(decoupled: true).WeightDecayMode);

        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptimizerOptions { Damping = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptimizerOptions { Beta = 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptimizerOptions { OfficialGamma = 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptimizerOptions { StatisticsUpdatePeriod = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptimizerOptions { LearningRate = double.PositiveInfinity }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptimizerOptions { UpdateRule = UpdateRule.QuadraticModel }.Validate());
        var model = new ModelSpec([LayerSpec.Linear("fc", 1, 1, bias: false)]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Create(model, new AdaFisherOptimizerOptions { Beta = -0.1 }));
    }

    [Fact]
    public void Float_RunsTheSameRule()
    {
        var model = new ModelSpec([LayerSpec.Linear("fc", 2, 1, bias: false)]);
        var dv = new ParameterSet();
        var dg = new ParameterSet();
        var fv = new ParameterSet();
        var fg = new ParameterSet();
        dv.Add("fc.weight", new double[] { 0.5, -0.25 }, 1, 2);
        dg.Add("fc.weight", new double[] { 0.1, 0.2 }, 1, 2);
        fv.Add("fc.weight", new float[] { 0.5f, -0.25f }, 1, 2);
        fg.Add("fc.weight", new float[] { 0.1f, 0.2f }, 1, 2);
        using var od = new AdaFisherOptimizer<double>(Backend, model, dv, dg, AdaFisherOptimizerOptions.Official(tCov: 1));
        using var of = new AdaFisherOptimizer<float>(Backend, model, fv, fg, AdaFisherOptimizerOptions.Official(tCov: 1));
        od.Observe("fc", [1, 2, 3, 4], [2, 2], [0.1, 0.3], [1, 2, 1]);
        of.Observe("fc", [1f, 2f, 3f, 4f], [2, 2], [0.1f, 0.3f], [1, 2, 1]);
        od.Step(double.NaN);
        of.Step(double.NaN);
        Assert.NotEqual(0.5, dv.Get<double>("fc.weight").Span[0]);
        Assert.Equal(dv.Get<double>("fc.weight").Span[0], fv.Get<float>("fc.weight").Span[0], 1e-6);
        Assert.Equal(dv.Get<double>("fc.weight").Span[1], fv.Get<float>("fc.weight").Span[1], 1e-6);
    }
}
