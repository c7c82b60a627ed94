using Curvature.AdaFisher;
using Curvature.Backends.Managed;
using Curvature.Serialization;
using Xunit;
using static Curvature.Tests.AdaFisher.AdaFisherTestModels;

namespace Curvature.Tests.AdaFisher;

public class AdaFisherStateTests
{
    private static LayerCase[] Layers() =>
    [
        LayerCase.Linear("fc", [3, 4], 2, bias: true),
        LayerCase.LayerNorm("ln", [3, 2], bias: true),
    ];

    public static TheoryData<AdaFisherMode> Modes => new() { AdaFisherMode.Principled, AdaFisherMode.OfficialCompatible };

    private static AdaFisherOptions OptionsFor(AdaFisherMode mode) => mode == AdaFisherMode.Principled
        ? new AdaFisherOptions { BlockSize = 3, MaxBlocks = 1, FisherUpdateFrequency = 2 }
        : AdaFisherOptions.Official(tCov: 2);

    private static byte[] Save(AdaFisherOptimizer<double> opt)
    {
        using var ms = new MemoryStream();
        opt.SaveState(ms);
        return ms.ToArray();
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void SaveLoad_RoundTripsEveryPieceOfState(AdaFisherMode mode)
    {
        var layers = Layers();
        var (a, pa) = Build(OptionsFor(mode), AdaFisherVariant.AdaFisher, layers, [5], new Random(1));
        var rng = new Random(2);
        for (int t = 0; t < 3; t++)
        {
            FeedStep(a, pa, layers, rng);
            a.Step();
        }

        a.LearningRate = 5e-4;
        byte[] state = Save(a);

        var (b, pb) = Build(OptionsFor(mode), AdaFisherVariant.AdaFisher, layers, [5], new Random(99));
        foreach (var (name, p) in pa)
        {
            p.Values.CopyTo(pb[name].Values);
        }

        b.LoadState(new MemoryStream(state));
        Assert.Equal(state, Save(b));
        Assert.Equal(3, b.StepCount);
        Assert.Equal(5e-4, b.LearningRate);
        Assert.Equal(a.GetInputFactor("fc").ToArray(), b.GetInputFactor("fc").ToArray());
        Assert.Equal(a.GetFirstMoment("extra0").ToArray(), b.GetFirstMoment("extra0").ToArray());

        // Both continue identically (the EMA, moments, step counts and refresh schedule all came across).
        var rngA = new Random(3);
        var rngB = new Random(3);
        for (int t = 0; t < 3; t++)
        {
            FeedStep(a, pa, layers, rngA);
            a.Step();
            FeedStep(b, pb, layers, rngB);
            b.Step();
        }

        Assert.Equal(Save(a), Save(b));
        foreach (var (name, p) in pa)
        {
            Assert.Equal(p.Values.ToArray(), pb[name].Values.ToArray());
        }
    }

    [Fact]
    public void Load_CorruptedOrTruncated_IsRejected_StateUnchanged()
    {
        var layers = Layers();
        var (a, pa) = Build(OptionsFor(AdaFisherMode.Principled), AdaFisherVariant.AdaFisher, layers, [5], new Random(1));
        FeedStep(a, pa, layers, new Random(2));
        a.Step();
        byte[] good = Save(a);

        var (b, pb) = Build(OptionsFor(AdaFisherMode.Principled), AdaFisherVariant.AdaFisher, layers, [5], new Random(4));
        FeedStep(b, pb, layers, new Random(5));
        b.Step();
        byte[] before = Save(b);

        var corrupted = (byte[])good.Clone();
        corrupted[good.Length / 2] ^= 0x40;
        Assert.Throws<CheckpointFormatException>(() => b.LoadState(new MemoryStream(corrupted)));
        Assert.Throws<CheckpointFormatException>(() => b.LoadState(new MemoryStream(good[..(good.Length - 7)])));
        Assert.Equal(before, Save(b));
    }

    [Fact]
    public void Load_MismatchedOptimizer_IsRejected_StateUnchanged()
    {
        var layers = Layers();
        var (a, pa) = Build(OptionsFor(AdaFisherMode.Principled), AdaFisherVariant.AdaFisher, layers, [5], new Random(1));
        FeedStep(a, pa, layers, new Random(2));
        a.Step();
        byte[] good = Save(a);

        // Different parameter size.
        var (c, _) = Build(OptionsFor(AdaFisherMode.Principled), AdaFisherVariant.AdaFisher, layers, [6], new Random(1));
        byte[] cBefore = Save(c);
        Assert.Throws<CheckpointFormatException>(() => c.LoadState(new MemoryStream(good)));
        Assert.Equal(cBefore, Save(c));

        // Different layer name.
        LayerCase[] renamed = [LayerCase.Linear("fc_other", [3, 4], 2, bias: true), LayerCase.LayerNorm("ln", [3, 2], bias: true)];
        var (d, _) = Build(OptionsFor(AdaFisherMode.Principled), AdaFisherVariant.AdaFisher, renamed, [5], new Random(1));
        Assert.Throws<CheckpointFormatException>(() => d.LoadState(new MemoryStream(good)));

        // Different variant, and different mode.
        var (e, _) = Build(OptionsFor(AdaFisherMode.Principled), AdaFisherVariant.AdaFisherW, layers, [5], new Random(1));
        Assert.Throws<CheckpointFormatException>(() => e.LoadState(new MemoryStream(good)));
        var (f, _) = Build(OptionsFor(AdaFisherMode.OfficialCompatible), AdaFisherVariant.AdaFisher, layers, [5], new Random(1));
        Assert.Throws<CheckpointFormatException>(() => f.LoadState(new MemoryStream(good)));
    }

    [Fact]
    public void Statistics_AndMemoryUsage()
    {
        var w = new AdaFisherParameter<double>("fc.weight", 6);
        var b = new AdaFisherParameter<double>("fc.bias", 2);
        var x = new AdaFisherParameter<double>("x", 10);
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), new AdaFisherOptions { BlockSize = 4, MaxBlocks = 2, FisherUpdateFrequency = 2 });
        opt.AddLinear("fc", 3, 2, w, b);
        long layerOnly = opt.MemoryUsageBytes;
        // H (4) + S (2) + raw H (4) + raw S (2) + moments (6 + 2) = 20 doubles.
        Assert.Equal(20 * sizeof(double), layerOnly);
        opt.AddParameter(x);
        // Block Fisher: 2 blocks of 4×4 × (EMA, factor, 2 staging) + diagonal 2 × 2 + solve scratch 4; moments 10 + scratch 10.
        Assert.Equal(layerOnly + (((2 * 16 * 4) + 4 + 4 + 20) * sizeof(double)), opt.MemoryUsageBytes);

        for (int t = 0; t < 3; t++)
        {
            if (opt.NeedsLayerStatistics)
            {
                opt.Observe("fc", [1, 2, 3], [1, 3], [0.1, 0.2]);
            }

            x.Gradient.Span.Fill(0.1);
            opt.Step();
        }

        var stats = opt.GetAllStatistics();
        Assert.Equal(new AdaFisherParameterStatistics(1, 2, 6), stats["fc.weight"]);
        Assert.Equal(new AdaFisherParameterStatistics(1, 2, 2), stats["fc.bias"]);
        Assert.Equal(new AdaFisherParameterStatistics(4, 2, 2.5), stats["x"]); // 2 dense blocks + 2 diagonal entries
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Reset_ReturnsToTheFreshState(AdaFisherMode mode)
    {
        var layers = Layers();
        var (a, pa) = Build(OptionsFor(mode), AdaFisherVariant.AdaFisherW, layers, [5], new Random(1));
        var (fresh, _) = Build(OptionsFor(mode), AdaFisherVariant.AdaFisherW, layers, [5], new Random(1));
        var rng = new Random(2);
        for (int t = 0; t < 3; t++)
        {
            FeedStep(a, pa, layers, rng);
            a.Step();
        }

        Assert.NotEqual(Save(fresh), Save(a));
        a.Reset();
        Assert.Equal(Save(fresh), Save(a));
        Assert.True(a.NeedsLayerStatistics);
    }

    [Fact]
    public void LearningRate_GetSet()
    {
        var opt = new AdaFisherOptimizer<double>(new ManagedBackend(), new AdaFisherOptions());
        Assert.Equal(1e-3, opt.LearningRate);
        opt.LearningRate = 0.5;
        Assert.Equal(0.5, opt.LearningRate);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.LearningRate = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.LearningRate = double.NaN);
        Assert.Equal(0.5, opt.LearningRate);
    }

    [Fact]
    public void Options_SeedDefaultsAndPresets()
    {
        var d = new AdaFisherOptions();
        Assert.Equal((1e-3, 0.95, 1e-6, 64, 0.01, true, 1000, 1), (d.LearningRate, d.FisherDecay, d.Epsilon, d.BlockSize, d.WeightDecay, d.BiasCorrection, d.MaxBlocks, d.FisherUpdateFrequency));
        var lm = AdaFisherOptions.ForLanguageModels();
        Assert.Equal((3e-4, 0.99, 1e-8, 128, 0.1, true, 2000, 1), (lm.LearningRate, lm.FisherDecay, lm.Epsilon, lm.BlockSize, lm.WeightDecay, lm.BiasCorrection, lm.MaxBlocks, lm.FisherUpdateFrequency));
        var ic = AdaFisherOptions.ForImageClassification();
        Assert.Equal((1e-3, 0.95, 1e-6, 64, 1e-4, true, 500, 1), (ic.LearningRate, ic.FisherDecay, ic.Epsilon, ic.BlockSize, ic.WeightDecay, ic.BiasCorrection, ic.MaxBlocks, ic.FisherUpdateFrequency));
        var official = AdaFisherOptions.Official();
        Assert.Equal((AdaFisherMode.OfficialCompatible, 1e-3, 0.9, 1e-3, 0.8, 100, 0.0), (official.Mode, official.LearningRate, official.Beta, official.Epsilon, official.FisherDecay, official.FisherUpdateFrequency, official.WeightDecay));

        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptions { Epsilon = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptions { FisherDecay = 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptions { FisherUpdateFrequency = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaFisherOptions { LearningRate = double.PositiveInfinity }.Validate());
        Assert.Throws<ArgumentException>(() => (AdaFisherOptions.Official() with { BiasCorrection = false }).Validate());
    }

    [Fact]
    public void Float_RunsTheSameRule()
    {
        var wd = new AdaFisherParameter<double>("w", new double[] { 0.5, -0.25 }, new double[] { 0.1, 0.2 });
        var wf = new AdaFisherParameter<float>("w", new float[] { 0.5f, -0.25f }, new float[] { 0.1f, 0.2f });
        var od = new AdaFisherOptimizer<double>(new ManagedBackend(), AdaFisherOptions.Official(tCov: 1));
        var of = new AdaFisherOptimizer<float>(new ManagedBackend(), AdaFisherOptions.Official(tCov: 1));
        od.AddLinear("fc", 2, 1, wd);
        of.AddLinear("fc", 2, 1, wf);
        od.Observe("fc", [1, 2, 3, 4], [2, 2], [0.1, 0.3]);
        of.Observe("fc", [1f, 2f, 3f, 4f], [2, 2], [0.1f, 0.3f]);
        od.Step();
        of.Step();
        Assert.Equal(wd.Values.Span[0], wf.Values.Span[0], 1e-6);
        Assert.Equal(wd.Values.Span[1], wf.Values.Span[1], 1e-6);
    }
}
