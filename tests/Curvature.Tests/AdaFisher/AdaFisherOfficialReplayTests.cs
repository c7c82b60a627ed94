using Curvature.AdaFisher;
using Curvature.Layers;
using Xunit;
using static Curvature.Tests.AdaFisher.AdaFisherTestModels;

namespace Curvature.Tests.AdaFisher;

/// <summary>Synthetic replays of FORMAT.md section 5 against <see cref="OfficialOracle"/> for what no reference case covers.</summary>
public class AdaFisherOfficialReplayTests
{
    private const double Tolerance = 1e-12;

    private static void Replay(AdaFisherVariant variant, int tcov, double wd, LayerCase[] layers, int[] extras, int steps, int seed)
    {
        var rng = new Random(seed);
        var options = AdaFisherOptions.Official(learningRate: 1e-3, beta: 0.9, lambda: 1e-3, gamma: 0.8, tCov: tcov, weightDecay: wd);
        var (optimizer, parameters) = Build(options, variant, layers, extras, rng);
        var oracle = new OfficialOracle(1e-3, 0.9, 1e-3, 0.8, tcov, wd, variant == AdaFisherVariant.AdaFisherW);
        foreach (var l in layers)
        {
            oracle.Layers.Add(l.Spec);
        }

        foreach (var (name, p) in parameters)
        {
            oracle.Params[name] = p.Values.ToArray();
        }

        for (int t = 0; t < steps; t++)
        {
            Assert.Equal(oracle.Refresh, optimizer.NeedsLayerStatistics);
            FeedStep(optimizer, parameters, layers, rng, oracle.Observe);
            optimizer.Step();
            oracle.Step(parameters.ToDictionary(kv => kv.Key, kv => kv.Value.Gradient.ToArray()));
            foreach (var l in layers)
            {
                AssertClose(l.Spec.H, optimizer.GetInputFactor(l.Spec.Name), Tolerance, $"step {t} {l.Spec.Name} H");
                AssertClose(l.Spec.S, optimizer.GetOutputFactor(l.Spec.Name), Tolerance, $"step {t} {l.Spec.Name} S");
            }

            foreach (var (name, p) in parameters)
            {
                AssertClose(oracle.ExpAvg[name], optimizer.GetFirstMoment(name), Tolerance, $"step {t} exp_avg {name}");
                AssertClose(oracle.Params[name], p.Values.Span, Tolerance, $"step {t} param {name}");
            }
        }

        Assert.Equal(steps, optimizer.StepCount);
    }

    [Theory]
    [InlineData(AdaFisherVariant.AdaFisher)]
    [InlineData(AdaFisherVariant.AdaFisherW)]
    public void Conv2d_WithStridePaddingAndIgnoredDilation_MatchesOracle(AdaFisherVariant variant)
    {
        var conv = new Conv2dGeometry(2, 3, 2, 3, strideHeight: 2, strideWidth: 1, paddingHeight: 1, paddingWidth: 0, dilationHeight: 2, dilationWidth: 1);
        LayerCase[] layers =
        [
            LayerCase.Conv("0", [3, 2, 5, 6], conv, bias: true),
            LayerCase.Linear("3", [3, 7], 2, bias: true),
        ];
        Replay(variant, tcov: 1, wd: 5e-4, layers, [], steps: 5, seed: 11);
    }

    [Fact]
    public void GroupedConv2d_WithoutBias_TCov3_MatchesOracle()
    {
        var conv = new Conv2dGeometry(4, 2, 3, 3, paddingHeight: 1, paddingWidth: 1, groups: 2);
        LayerCase[] layers = [LayerCase.Conv("0", [2, 4, 4, 4], conv, bias: false)];
        Replay(AdaFisherVariant.AdaFisherW, tcov: 3, wd: 1e-2, layers, [], steps: 7, seed: 12);
    }

    [Theory]
    [InlineData(AdaFisherVariant.AdaFisher, 2)]
    [InlineData(AdaFisherVariant.AdaFisherW, 1)]
    public void SequenceInputs_MatchOracle(AdaFisherVariant variant, int tcov)
    {
        LayerCase[] layers =
        [
            LayerCase.Linear("0", [3, 4, 5], 4, bias: true),
            LayerCase.Linear("2", [3, 4, 4], 3, bias: false),
        ];
        Replay(variant, tcov, wd: 5e-4, layers, [], steps: 6, seed: 13);
    }

    [Fact]
    public void TCov4_FactorsFrozenBetweenRefreshes_MatchesOracle()
    {
        LayerCase[] layers = [LayerCase.Linear("0", [5, 3], 2, bias: true)];
        Replay(AdaFisherVariant.AdaFisher, tcov: 4, wd: 0, layers, [], steps: 9, seed: 14);
    }

    [Fact]
    public void NormLayers_MatchHandWrittenFormula()
    {
        LayerCase[] layers =
        [
            LayerCase.BatchNorm("bn", [2, 3, 4, 4], bias: true),
            LayerCase.LayerNorm("ln", [2, 3, 5], bias: true),
            LayerCase.LayerNorm("ln4", [2, 3, 2, 4], bias: false),
        ];
        Replay(AdaFisherVariant.AdaFisher, tcov: 1, wd: 5e-4, layers, [], steps: 4, seed: 15);
    }

    [Fact]
    public void UnstructuredParameter_GetsUnitFisher_MatchesOracle()
    {
        LayerCase[] layers = [LayerCase.Linear("0", [4, 3], 2, bias: true)];
        Replay(AdaFisherVariant.AdaFisherW, tcov: 1, wd: 1e-2, layers, [6], steps: 3, seed: 16);
    }

    [Fact]
    public void ConvNormalisation_IsByNLd_NotNL()
    {
        var conv = new Conv2dGeometry(1, 1, 2, 2);
        var w = new AdaFisherParameter<double>("w", 4);
        var b = new AdaFisherParameter<double>("b", 1);
        var optimizer = new AdaFisherOptimizer<double>(new Curvature.Backends.Managed.ManagedBackend(), AdaFisherOptions.Official(tCov: 1));
        optimizer.AddConv2d("c", conv, w, b);
        // Image 2×3 = [1 2 3; 4 5 6], 2×2 kernel: patches [1 2 4 5] and [2 3 5 6] (L = 2, d = 4).
        // Σ rows h² = [5, 13, 41, 61], bias Σ = 2; the official code divides by N·L·d = 8.
        Assert.True(optimizer.Observe("c", [1, 2, 3, 4, 5, 6], [1, 1, 2, 3], [0.5, 0.25]));
        optimizer.Step();
        double[] raw = [5 / 8.0, 13 / 8.0, 41 / 8.0, 61 / 8.0, 2 / 8.0];
        double min = 2 / 8.0, max = 61 / 8.0;
        var h = optimizer.GetInputFactor("c");
        for (int j = 0; j < raw.Length; j++)
        {
            double expected = (0.8 * 0.1) + (0.8 * 0.01 * ((raw[j] - min) / (max - min + 1e-6)));
            Assert.Equal(expected, h[j], 1e-15);
        }
    }
}
