using Curvature.AdaFisher;
using Curvature.Backends.Managed;
using Curvature.Layers;
using Xunit;

namespace Curvature.Tests.AdaFisher;

public class AdaFisherPrincipledTests
{
    private static AdaFisherOptions Options() => new()
    {
        LearningRate = 0.1,
        FisherDecay = 0.5,
        Epsilon = 0.1,
        Beta = 0.5,
        WeightDecay = 0,
        BiasCorrection = true,
        FisherUpdateFrequency = 1,
        OutputGradientsFromMeanLoss = true,
    };

    [Fact]
    public void DefaultMode_IsPrincipled()
    {
        Assert.Equal(AdaFisherMode.Principled, new AdaFisherOptions().Mode);
    }

    [Fact]
    public void TwoSteps_Linear_MatchHandComputation()
    {
        var w = new AdaFisherParameter<double>("w", new double[] { 1, 1 }, new double[2]);
        var b = new AdaFisherParameter<double>("b", new double[] { 0 }, new double[1]);
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), Options());
        opt.AddLinear("fc", 2, 1, w, b);

        // Step 1: a = [[1, 2], [3, 0]], g = [0.5, -0.5] (mean loss over N = 2).
        // H = [(1+9)/2, (4+0)/2, 1] = [5, 2, 1];  S = N²·Σg²/N = 4·0.5/2 = 1  (first refresh stores the estimate).
        opt.Observe("fc", [1, 2, 3, 0], [2, 2], [0.5, -0.5]);
        w.Gradient.Span[0] = 0.2; w.Gradient.Span[1] = -0.4; b.Gradient.Span[0] = 0.1;
        opt.Step();
        Assert.Equal([5.0, 2.0, 1.0], opt.GetInputFactor("fc").ToArray());
        Assert.Equal([1.0], opt.GetOutputFactor("fc").ToArray());
        // m = 0.5·g; m̂ = m / (1 − 0.5) = g; F = S·H + 0.1 = [5.1, 2.1 | 1.1].
        double w10 = 1 - (0.1 * 0.2 / 5.1), w11 = 1 + (0.1 * 0.4 / 2.1), b1 = -(0.1 * 0.1 / 1.1);
        Assert.Equal(w10, w.Values.Span[0], 1e-15);
        Assert.Equal(w11, w.Values.Span[1], 1e-15);
        Assert.Equal(b1, b.Values.Span[0], 1e-15);

        // Step 2: a = [[0, 1], [1, 1]], g = [1, 0]: Ĥ = [0.5, 1, 1], Ŝ = 4·1/2 = 2.
        // H = 0.5·[5, 2, 1] + 0.5·[0.5, 1, 1] = [2.75, 1.5, 1];  S = 0.5·1 + 0.5·2 = 1.5.
        opt.Observe("fc", [0, 1, 1, 1], [2, 2], [1, 0]);
        w.Gradient.Span[0] = 0.2; w.Gradient.Span[1] = 0.2; b.Gradient.Span[0] = -0.1;
        opt.Step();
        Assert.Equal(2.75, opt.GetInputFactor("fc")[0], 1e-15);
        Assert.Equal(1.5, opt.GetInputFactor("fc")[1], 1e-15);
        Assert.Equal(1.0, opt.GetInputFactor("fc")[2], 1e-15);
        Assert.Equal(1.5, opt.GetOutputFactor("fc")[0], 1e-15);
        // m = 0.5·[0.1, −0.2 | 0.05] + 0.5·[0.2, 0.2 | −0.1] = [0.15, 0 | −0.025]; bias correction 1 − 0.25 = 0.75.
        // F = [1.5·2.75 + 0.1, 1.5·1.5 + 0.1 | 1.5·1 + 0.1] = [4.225, 2.35 | 1.6].
        Assert.Equal(w10 - (0.1 * (0.15 / 0.75) / 4.225), w.Values.Span[0], 1e-15);
        Assert.Equal(w11, w.Values.Span[1], 1e-15);
        Assert.Equal(b1 - (0.1 * (-0.025 / 0.75) / 1.6), b.Values.Span[0], 1e-15);
        Assert.Equal([0.15, 0.0], opt.GetFirstMoment("w").ToArray().Select(x => Math.Round(x, 15)).ToArray());
    }

    [Fact]
    public void DecoupledVariant_AddsLrTimesDecay()
    {
        var w = new AdaFisherParameter<double>("w", new double[] { 2 }, new double[1]);
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), Options() with { WeightDecay = 0.3 }, AdaFisherVariant.AdaFisherW);
        opt.AddLinear("fc", 1, 1, w);
        // a = [1], g = [1], N = 1: H = 1, S = 1, F = 1.1. grad 0.5 → m = 0.25, m̂ = 0.5.
        opt.Observe("fc", [1], [1, 1], [1]);
        w.Gradient.Span[0] = 0.5;
        opt.Step();
        Assert.Equal(2 - (0.1 * ((0.5 / 1.1) + (0.3 * 2))), w.Values.Span[0], 1e-15);
    }

    [Fact]
    public void CoupledVariant_AddsDecayToTheGradient()
    {
        var w = new AdaFisherParameter<double>("w", new double[] { 2 }, new double[1]);
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), Options() with { WeightDecay = 0.3 });
        opt.AddLinear("fc", 1, 1, w);
        opt.Observe("fc", [1], [1, 1], [1]);
        w.Gradient.Span[0] = 0.5;
        opt.Step();
        // g' = 0.5 + 0.3·2 = 1.1; m = 0.55; m̂ = 1.1; F = 1.1 → step 0.1.
        Assert.Equal(2 - 0.1, w.Values.Span[0], 1e-15);
    }

    [Fact]
    public void Conv2d_AveragesOverLocations_AndHonoursDilation()
    {
        // 3×3 image 1..9, 2×2 kernel with dilation 2: one location, patch [1, 3, 7, 9].
        var geometry = new Conv2dGeometry(1, 1, 2, 2, dilationHeight: 2, dilationWidth: 2);
        var w = new AdaFisherParameter<double>("w", 4);
        var b = new AdaFisherParameter<double>("b", 1);
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), Options());
        opt.AddConv2d("c", geometry, w, b);
        opt.Observe("c", [1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], [0.5]);
        opt.Step();
        Assert.Equal([1.0, 9.0, 49.0, 81.0, 1.0], opt.GetInputFactor("c").ToArray());
        Assert.Equal([0.25], opt.GetOutputFactor("c").ToArray());
    }

    [Fact]
    public void Conv2d_TwoLocations_DividesByNTimesL()
    {
        // 1×2×3 image [1 2 3; 4 5 6], 2×2 kernel: patches [1 2 4 5], [2 3 5 6]; mean over N·L = 2 rows.
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), Options() with { OutputGradientsFromMeanLoss = false });
        opt.AddConv2d("c", new Conv2dGeometry(1, 1, 2, 2), new AdaFisherParameter<double>("w", 4));
        opt.Observe("c", [1, 2, 3, 4, 5, 6], [1, 1, 2, 3], [0.5, 0.25]);
        opt.Step();
        Assert.Equal([2.5, 6.5, 20.5, 30.5], opt.GetInputFactor("c").ToArray());
        // S sums over locations, averages over examples (curvlinops' expand convention): 0.25 + 0.0625.
        Assert.Equal([0.3125], opt.GetOutputFactor("c").ToArray());
    }

    [Fact]
    public void SequenceInput_LinearRows_AreAllPositions()
    {
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), Options());
        opt.AddLinear("fc", 1, 1, new AdaFisherParameter<double>("w", 1));
        // [N = 2, S = 2, 1]: Ĥ = mean over 4 rows of a² = (1 + 4 + 9 + 16)/4; Ŝ = N²·Σg²/N = 2·(1+1+1+1)·0.01.
        opt.Observe("fc", [1, 2, 3, 4], [2, 2, 1], [0.1, 0.1, -0.1, 0.1]);
        opt.Step();
        Assert.Equal(7.5, opt.GetInputFactor("fc")[0], 1e-15);
        Assert.Equal(0.08, opt.GetOutputFactor("fc")[0], 1e-15);
    }
}
