using Xunit;
using Curvature.AdaFisher;
using Curvature.Backends.Managed;
using Curvature.Layers;

namespace Curvature.Tests.AdaFisher;

/// <summary>A layer of a synthetic replay: its oracle description, the optimizer registration and the data shapes.</summary>
internal sealed record LayerCase(OfficialOracle.Layer Spec, int[] InputShape, int[] GradShape, Conv2dGeometry? Geometry = null)
{
    public int WeightLength => Spec.Kind switch
    {
        "linear" => Spec.In * Spec.Out,
        "conv2d" => Spec.Out * (Spec.Cin / Spec.Groups) * Spec.Kh * Spec.Kw,
        _ => Spec.Out,
    };

    public static LayerCase Linear(string name, int[] inputShape, int outFeatures, bool bias)
    {
        int din = inputShape[^1];
        int[] grad = [.. inputShape[..^1], outFeatures];
        return new LayerCase(new OfficialOracle.Layer { Name = name, Kind = "linear", In = din, Out = outFeatures, Bias = bias }, inputShape, grad);
    }

    public static LayerCase Conv(string name, int[] inputShape, Conv2dGeometry geometry, bool bias)
    {
        int oh = geometry.OutputHeight(inputShape[2]), ow = geometry.OutputWidth(inputShape[3]);
        var spec = new OfficialOracle.Layer
        {
            Name = name, Kind = "conv2d", Out = geometry.OutChannels, Bias = bias, Cin = geometry.InChannels,
            Kh = geometry.KernelHeight, Kw = geometry.KernelWidth, Sh = geometry.StrideHeight, Sw = geometry.StrideWidth,
            Ph = geometry.PaddingHeight, Pw = geometry.PaddingWidth, Groups = geometry.Groups,
        };
        return new LayerCase(spec, inputShape, [inputShape[0], geometry.OutChannels, oh, ow], geometry);
    }

    public static LayerCase BatchNorm(string name, int[] inputShape, bool bias) =>
        new(new OfficialOracle.Layer { Name = name, Kind = "bn", Out = inputShape[1], Bias = bias }, inputShape, inputShape);

    public static LayerCase LayerNorm(string name, int[] inputShape, bool bias) =>
        new(new OfficialOracle.Layer { Name = name, Kind = "ln", Out = inputShape[^1], Bias = bias }, inputShape, inputShape);

    public void Register(AdaFisherOptimizer<double> optimizer, Dictionary<string, AdaFisherParameter<double>> parameters)
    {
        var w = parameters[Spec.Name + ".weight"];
        var b = Spec.Bias ? parameters[Spec.Name + ".bias"] : null;
        switch (Spec.Kind)
        {
            case "linear": optimizer.AddLinear(Spec.Name, Spec.In, Spec.Out, w, b); break;
            case "conv2d": optimizer.AddConv2d(Spec.Name, Geometry!, w, b); break;
            case "bn": optimizer.AddBatchNorm2d(Spec.Name, Spec.Out, w, b); break;
            default: optimizer.AddLayerNorm(Spec.Name, Spec.Out, w, b); break;
        }
    }
}

/// <summary>Builds an optimizer and its parameters for a list of layers plus unstructured parameters, with seeded values.</summary>
internal static class AdaFisherTestModels
{
    public static double[] Random(Random rng, int n, double scale) =>
        Enumerable.Range(0, n).Select(_ => ((rng.NextDouble() * 2) - 1) * scale).ToArray();

    public static int Product(int[] shape) => shape.Aggregate(1, (x, y) => x * y);

    public static (AdaFisherOptimizer<double> Optimizer, Dictionary<string, AdaFisherParameter<double>> Parameters) Build(
        AdaFisherOptions options, AdaFisherVariant variant, LayerCase[] layers, int[] extraParameterLengths, Random rng)
    {
        var optimizer = new AdaFisherOptimizer<double>(new ManagedBackend(), options, variant);
        var parameters = new Dictionary<string, AdaFisherParameter<double>>();
        foreach (var l in layers)
        {
            string wn = l.Spec.Name + ".weight";
            parameters[wn] = new AdaFisherParameter<double>(wn, Random(rng, l.WeightLength, 0.5), new double[l.WeightLength]);
            if (l.Spec.Bias)
            {
                string bn = l.Spec.Name + ".bias";
                parameters[bn] = new AdaFisherParameter<double>(bn, Random(rng, l.Spec.Out, 0.5), new double[l.Spec.Out]);
            }

            l.Register(optimizer, parameters);
        }

        for (int i = 0; i < extraParameterLengths.Length; i++)
        {
            string name = $"extra{i}";
            parameters[name] = new AdaFisherParameter<double>(name, Random(rng, extraParameterLengths[i], 0.5), new double[extraParameterLengths[i]]);
            optimizer.AddParameter(parameters[name]);
        }

        return (optimizer, parameters);
    }

    /// <summary>Fills every gradient with seeded values and observes every layer with seeded a, g (when the step refreshes).</summary>
    public static void FeedStep(AdaFisherOptimizer<double> optimizer, Dictionary<string, AdaFisherParameter<double>> parameters, LayerCase[] layers, Random rng,
        Action<string, double[], int[], double[]>? alsoObserve = null)
    {
        foreach (var p in parameters.Values)
        {
            Random(rng, p.Length, 0.05).CopyTo(p.Gradient.Span);
        }

        foreach (var l in layers)
        {
            var a = Random(rng, Product(l.InputShape), 1.0);
            var g = Random(rng, Product(l.GradShape), 0.01);
            if (optimizer.NeedsLayerStatistics)
            {
                Assert.True(optimizer.Observe(l.Spec.Name, a, l.InputShape, g));
                alsoObserve?.Invoke(l.Spec.Name, a, l.InputShape, g);
            }
        }
    }

    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxRef = 1, maxDiff = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
            maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - actual[i]));
        }

        Assert.True(maxDiff <= tolerance * maxRef, $"{what}: max diff {maxDiff:e3} (ref max {maxRef:e3})");
    }
}
