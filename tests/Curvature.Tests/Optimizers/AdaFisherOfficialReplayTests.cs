using Curvature.Backends.Managed;
using Curvature.Layers;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Xunit;
using static Curvature.Tests.Optimizers.AdaFisherTestModels;

namespace Curvature.Tests.Optimizers;

/// <summary>
/// <see cref="AdaFisherOptimizer{T}"/> in official-compatible mode replayed against <see cref="OfficialOracle"/> (the
/// official update rule in plain float64) for what no reference case covers: every factor, first moment and parameter
/// after every step. Normalisation layers: the optimizer observes the normalised input x̂, and the oracle applies the
/// official formula to that same observed input (the official code reads the raw input).
/// </summary>
public class AdaFisherOfficialReplayTests
{
    private const double Tolerance = 1e-12;

    private static void Replay(bool decoupled, int tcov, double wd, LayerCase[] layers, int[] extras, int steps, int seed)
    {
        var rng = new Random(seed);
        var options = AdaFisherOptimizerOptions.Official(learningRate: 1e-3, beta: 0.9, lambda: 1e-3, gamma: 0.8, tCov: tcov, weightDecay: wd, decoupled: decoupled);
        using var setup = Build(options, layers, extras, rng);
        var oracle = new OfficialOracle(1e-3, 0.9, 1e-3, 0.8, tcov, wd, decoupled);
        foreach (var l in layers)
        {
            oracle.Layers.Add(l.Oracle);
        }

        foreach (var p in setup.Model.Parameters)
        {
            oracle.Params[p.Name] = setup.Values.Get<double>(p.Name).Span.ToArray();
        }

        for (int t = 0; t < steps; t++)
        {
            Assert.Equal(oracle.Refresh, setup.Optimizer.NeedsObservations);
            FeedStep(setup, rng, oracle.Observe);
            setup.Optimizer.Step(double.NaN);
            oracle.Step(setup.Model.Parameters.ToDictionary(p => p.Name, p => setup.Gradients.Get<double>(p.Name).Span.ToArray()));
            foreach (var l in layers)
            {
                AssertClose(l.Oracle.H, setup.Optimizer.InputFactor(l.Name), Tolerance, $"step {t} {l.Name} H");
                AssertClose(l.Oracle.S, setup.Optimizer.OutputFactor(l.Name), Tolerance, $"step {t} {l.Name} S");
            }

            foreach (var p in setup.Model.Parameters)
            {
                AssertClose(oracle.ExpAvg[p.Name], setup.Moment(p.Name), Tolerance, $"step {t} exp_avg {p.Name}");
                AssertClose(oracle.Params[p.Name], setup.Values.Get<double>(p.Name).Span, Tolerance, $"step {t} param {p.Name}");
            }
        }

        Assert.Equal(steps, setup.Optimizer.StepCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Conv2d_WithStridePaddingAndIgnoredDilation_MatchesOracle(bool decoupled)
    {
        var conv = new Conv2dGeometry(2, 3, 2, 3, strideHeight: 2, strideWidth: 1, paddingHeight: 1, paddingWidth: 0, dilationHeight: 2, dilationWidth: 1);
        LayerCase[] layers =
        [
            LayerCase.Conv("0", [3, 2, 5, 6], conv, bias: true),
            LayerCase.Linear("3", [3, 7], 2, bias: true),
        ];
        Replay(decoupled, tcov: 1, wd: 5e-4, layers, [], steps: 5, seed: 11);
    }

    [Fact]
    public void GroupedConv2d_WithoutBias_TCov3_MatchesOracle()
    {
        var conv = new Conv2dGeometry(4, 2, 3, 3, paddingHeight: 1, paddingWidth: 1, groups: 2);
        LayerCase[] layers = [LayerCase.Conv("0", [2, 4, 4, 4], conv, bias: false)];
        Replay(decoupled: true, tcov: 3, wd: 1e-2, layers, [], steps: 7, seed: 12);
    }

    [Theory]
    [InlineData(false, 2)]
    [InlineData(true, 1)]
    public void SequenceInputs_MatchOracle(bool decoupled, int tcov)
    {
        LayerCase[] layers =
        [
            LayerCase.Linear("0", [3, 4, 5], 4, bias: true),
            LayerCase.Linear("2", [3, 4, 4], 3, bias: false),
        ];
        Replay(decoupled, tcov, wd: 5e-4, layers, [], steps: 6, seed: 13);
    }

    [Fact]
    public void TCov4_FactorsFrozenBetweenRefreshes_MatchesOracle()
    {
        LayerCase[] layers = [LayerCase.Linear("0", [5, 3], 2, bias: true)];
        Replay(decoupled: false, tcov: 4, wd: 0, layers, [], steps: 9, seed: 14);
    }

    [Fact]
    public void NormLayers_MatchTheOfficialFormulaOnTheObservedInput()
    {
        LayerCase[] layers =
        [
            LayerCase.BatchNorm("bn", [2, 3, 4, 4], bias: true),
            LayerCase.LayerNorm("ln", [2, 3, 5], bias: true),
            LayerCase.LayerNorm("ln4", [2, 3, 2, 4], bias: false),
        ];
        Replay(decoupled: false, tcov: 1, wd: 5e-4, layers, [], steps: 4, seed: 15);
    }

    [Fact]
    public void PlainParameter_GetsUnitFisher_MatchesOracle()
    {
        LayerCase[] layers = [LayerCase.Linear("0", [4, 3], 2, bias: true)];
        Replay(decoupled: true, tcov: 1, wd: 1e-2, layers, [6], steps: 3, seed: 16);
    }

    [Fact]
    public void ConvNormalisation_IsByNLd_NotNL()
    {
        var conv = new Conv2dGeometry(1, 1, 2, 2);
        var model = new ModelSpec([LayerSpec.Conv2d("c", conv)]);
        var values = new ParameterSet();
        var grads = new ParameterSet();
        values.Add("c.weight", new double[4], 1, 1, 2, 2);
        values.Add("c.bias", new double[1], 1);
        grads.Add("c.weight", new double[4], 1, 1, 2, 2);
        grads.Add("c.bias", new double[1], 1);
        using var optimizer = new AdaFisherOptimizer<double>(new ManagedBackend(), model, values, grads, AdaFisherOptimizerOptions.Official(tCov: 1));

        // Image 2×3 = [1 2 3; 4 5 6], 2×2 kernel: patches [1 2 4 5] and [2 3 5 6] (L = 2, d = 4).
        // Σ rows h² = [5, 13, 41, 61], bias Σ = 2; the official code divides by N·L·d = 8.
        Assert.True(optimizer.Observe("c", [1, 2, 3, 4, 5, 6], [1, 1, 2, 3], [0.5, 0.25], [1, 1, 1, 1, 2]));
        optimizer.Step(double.NaN);
        double[] raw = [5 / 8.0, 13 / 8.0, 41 / 8.0, 61 / 8.0, 2 / 8.0];
        double min = 2 / 8.0, max = 61 / 8.0;
        var h = optimizer.InputFactor("c");
        Assert.Equal(raw.Length, h.Length);
        for (int j = 0; j < raw.Length; j++)
        {
            double expected = (0.8 * 0.1) + (0.8 * 0.01 * ((raw[j] - min) / (max - min + 1e-6)));
            Assert.Equal(expected, h[j], 1e-15);
        }
    }
}
