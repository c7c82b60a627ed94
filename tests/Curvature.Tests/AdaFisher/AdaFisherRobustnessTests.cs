using Curvature.AdaFisher;
using Curvature.Layers;
using Xunit;
using static Curvature.Tests.AdaFisher.AdaFisherTestModels;

namespace Curvature.Tests.AdaFisher;

/// <summary>Rejected calls leave the state bit-for-bit unchanged; steady-state steps allocate nothing.</summary>
public class AdaFisherRobustnessTests
{
    private static LayerCase[] Layers() =>
    [
        LayerCase.Conv("conv", [2, 2, 4, 4], new Conv2dGeometry(2, 3, 3, 3, paddingHeight: 1, paddingWidth: 1, dilationHeight: 1), bias: true),
        LayerCase.BatchNorm("bn", [2, 3, 4, 4], bias: true),
        LayerCase.Linear("fc", [2, 3, 4], 2, bias: true),
        LayerCase.LayerNorm("ln", [2, 3, 2], bias: true),
    ];

    public static TheoryData<AdaFisherMode> Modes => new() { AdaFisherMode.Principled, AdaFisherMode.OfficialCompatible };

    private static AdaFisherOptions OptionsFor(AdaFisherMode mode) => mode == AdaFisherMode.Principled
        ? new AdaFisherOptions { BlockSize = 4, MaxBlocks = 2, FisherUpdateFrequency = 1 }
        : AdaFisherOptions.Official(tCov: 1, weightDecay: 1e-3);

    private static byte[] Snapshot(AdaFisherOptimizer<double> optimizer, Dictionary<string, AdaFisherParameter<double>> parameters)
    {
        using var ms = new MemoryStream();
        optimizer.SaveState(ms);
        foreach (var p in parameters.Values)
        {
            foreach (double v in p.Values.Span)
            {
                ms.Write(BitConverter.GetBytes(v));
            }
        }

        return ms.ToArray();
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void BadCalls_LeaveStateUnchanged(AdaFisherMode mode)
    {
        var layers = Layers();
        var (a, pa) = Build(OptionsFor(mode), AdaFisherVariant.AdaFisher, layers, [10], new Random(1));
        var (b, pb) = Build(OptionsFor(mode), AdaFisherVariant.AdaFisher, layers, [10], new Random(1));
        var rngA = new Random(2);
        var rngB = new Random(2);
        for (int t = 0; t < 2; t++)
        {
            FeedStep(a, pa, layers, rngA);
            a.Step();
            FeedStep(b, pb, layers, rngB);
            b.Step();
        }

        // Both observe the next step's statistics; only A then receives bad calls.
        FeedStep(a, pa, layers, rngA);
        FeedStep(b, pb, layers, rngB);
        var before = Snapshot(a, pa);

        var fcIn = new double[2 * 3 * 4];
        var fcOut = new double[2 * 3 * 2];
        Assert.Throws<ArgumentException>(() => a.Observe("fc", fcIn, [2, 3, 5], fcOut));          // wrong feature count
        Assert.Throws<ArgumentException>(() => a.Observe("fc", fcIn, [2, 3, 4], new double[5]));  // wrong gradient length
        Assert.Throws<ArgumentException>(() => a.Observe("conv", new double[64], [2, 2, 4, 4], new double[3]));
        Assert.Throws<ArgumentException>(() => a.Observe("nope", fcIn, [2, 3, 4], fcOut));
        var nanInput = (double[])fcIn.Clone();
        nanInput[3] = double.NaN;
        Assert.Throws<ArgumentException>(() => a.Observe("fc", nanInput, [2, 3, 4], fcOut));
        var infGrad = (double[])fcOut.Clone();
        infGrad[1] = double.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => a.Observe("fc", fcIn, [2, 3, 4], infGrad));
        Assert.Equal(before, Snapshot(a, pa));

        // A NaN gradient rejects the whole step.
        var grad = pa["fc.weight"].Gradient.Span;
        double saved = grad[2];
        grad[2] = double.NaN;
        Assert.Throws<ArgumentException>(a.Step);
        Assert.Equal(before, Snapshot(a, pa));
        grad[2] = saved;

        // The pending statistics survived the rejected calls: A and B now take identical steps.
        a.Step();
        b.Step();
        Assert.Equal(Snapshot(b, pb), Snapshot(a, pa));
    }

    [Fact]
    public void MissingObservation_OnRefreshStep_IsRejected()
    {
        var layers = Layers();
        var (a, pa) = Build(OptionsFor(AdaFisherMode.OfficialCompatible), AdaFisherVariant.AdaFisherW, layers, [], new Random(3));
        var before = Snapshot(a, pa);
        a.Observe("fc", new double[24], [2, 3, 4], new double[12]);
        Assert.Throws<InvalidOperationException>(a.Step);
        Assert.Equal(before, Snapshot(a, pa));
        Assert.Equal(0, a.StepCount);
    }

    [Fact]
    public void Registration_IsExplicit_AndValidated()
    {
        var opt = new AdaFisherOptimizer<double>(new Curvature.Backends.Managed.ManagedBackend(), new AdaFisherOptions());
        var w = new AdaFisherParameter<double>("w", 6);
        Assert.Throws<ArgumentException>(() => opt.AddLinear("fc", 2, 2, w));              // 6 values for a 2×2 weight
        opt.AddLinear("fc", 3, 2, w);
        Assert.Throws<ArgumentException>(() => opt.AddLinear("fc2", 3, 2, w));             // same parameter twice
        Assert.Throws<ArgumentException>(() => opt.AddLinear("fc", 3, 2, new AdaFisherParameter<double>("w2", 6)));
        Assert.Throws<ArgumentException>(() => opt.AddLinear("fc3", 3, 2, new AdaFisherParameter<double>("w3", 6), new AdaFisherParameter<double>("b3", 3)));
        // Two layers with same-shaped weights keep their own factors (no matching by position or shape).
        var w2 = new AdaFisherParameter<double>("other", 6);
        opt.AddLinear("fc4", 3, 2, w2);
        opt.Observe("fc", [1, 1, 1], [1, 3], [1, 1]);
        opt.Observe("fc4", [5, 0, 0], [1, 3], [1, 0]);
        opt.Step();
        Assert.NotEqual(opt.GetInputFactor("fc").ToArray(), opt.GetInputFactor("fc4").ToArray());
        Assert.Throws<InvalidOperationException>(() => opt.AddParameter(new AdaFisherParameter<double>("late", 2)));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void SteadyStateStep_AllocatesNothing(AdaFisherMode mode)
    {
        var layers = Layers();
        var (opt, parameters) = Build(OptionsFor(mode), AdaFisherVariant.AdaFisherW, layers, [10], new Random(4));
        var rng = new Random(5);
        var inputs = layers.Select(l => Random(rng, Product(l.InputShape), 1)).ToArray();
        var grads = layers.Select(l => Random(rng, Product(l.GradShape), 0.01)).ToArray();
        foreach (var p in parameters.Values)
        {
            Random(rng, p.Length, 0.1).CopyTo(p.Gradient.Span);
        }

        void OneStep()
        {
            for (int i = 0; i < layers.Length; i++)
            {
                opt.Observe(layers[i].Spec.Name, inputs[i], layers[i].InputShape, grads[i]);
            }

            opt.Step();
        }

        OneStep();
        OneStep();
        long before = GC.GetAllocatedBytesForCurrentThread();
        OneStep();
        OneStep();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }
}
