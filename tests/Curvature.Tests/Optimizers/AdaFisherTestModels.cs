using Curvature.Backends.Managed;
using Curvature.Layers;
using Curvature.Models;
using Curvature.Optimizers;
using Curvature.Parameters;
using Xunit;

namespace Curvature.Tests.Optimizers;

/// <summary>A layer of a synthetic replay: its oracle description, its <see cref="LayerSpec"/> and the data shapes.</summary>
internal sealed record LayerCase(OfficialOracle.Layer Oracle, int[] InputShape, int[] GradShape, Conv2dGeometry? Geometry = null)
{
    public string Name => Oracle.Name;

    /// <summary>Shape of the output gradients as the optimizer takes them: one vector, <c>[1, …]</c>.</summary>
    public int[] ObservedGradShape => [1, .. GradShape];

    public LayerSpec Spec => Oracle.Kind switch
    {
        "linear" => LayerSpec.Linear(Oracle.Name, Oracle.In, Oracle.Out, Oracle.Bias),
        "conv2d" => LayerSpec.Conv2d(Oracle.Name, Geometry!, Oracle.Bias),
        "bn" => LayerSpec.BatchNorm(Oracle.Name, Oracle.Out, Oracle.Bias),
        _ => LayerSpec.LayerNorm(Oracle.Name, Oracle.Out, Oracle.Bias),
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

    /// <summary>A BatchNorm2d layer; its observed input is the normalised input x̂.</summary>
    public static LayerCase BatchNorm(string name, int[] inputShape, bool bias) =>
        new(new OfficialOracle.Layer { Name = name, Kind = "bn", Out = inputShape[1], Bias = bias }, inputShape, inputShape);

    /// <summary>A LayerNorm layer over the last axis; its observed input is the normalised input x̂.</summary>
    public static LayerCase LayerNorm(string name, int[] inputShape, bool bias) =>
        new(new OfficialOracle.Layer { Name = name, Kind = "ln", Out = inputShape[^1], Bias = bias }, inputShape, inputShape);
}

/// <summary>An AdaFisher optimizer over a list of layers plus plain parameters, with seeded parameters.</summary>
internal sealed record AdaFisherSetup(AdaFisherOptimizer<double> Optimizer, ModelSpec Model, ParameterSet Values, ParameterSet Gradients, LayerCase[] Layers) : IDisposable
{
    /// <summary>The first moment of one parameter.</summary>
    public ReadOnlySpan<double> Moment(string parameter)
    {
        var p = Model.Parameters.Single(p => p.Name == parameter);
        return Optimizer.FirstMoment.Slice(p.Offset, p.Length);
    }

    public void Dispose() => Optimizer.Dispose();
}

/// <summary>Builds AdaFisher optimizers for test models and feeds them seeded steps.</summary>
internal static class AdaFisherTestModels
{
    public static double[] Random(Random rng, int n, double scale) =>
        Enumerable.Range(0, n).Select(_ => ((rng.NextDouble() * 2) - 1) * scale).ToArray();

    public static int Product(int[] shape) => shape.Aggregate(1, (x, y) => x * y);

    /// <summary>The layers, then one plain parameter <c>extra{i}</c> of each length; values uniform in ±0.5.</summary>
    public static AdaFisherSetup Build(AdaFisherOptimizerOptions options, LayerCase[] layers, int[] extraParameterLengths, Random rng)
    {
        var model = new ModelSpec([.. layers.Select(l => l.Spec), .. extraParameterLengths.Select((n, i) => LayerSpec.Parameter($"extra{i}", n))]);
        var values = new ParameterSet();
        var grads = new ParameterSet();
        foreach (var p in model.Parameters)
        {
            values.Add(p.Name, Random(rng, p.Length, 0.5), p.Shape);
            grads.Add(p.Name, new double[p.Length], p.Shape);
        }

        return new AdaFisherSetup(new AdaFisherOptimizer<double>(new ManagedBackend(), model, values, grads, options), model, values, grads, layers);
    }

    /// <summary>Fills every gradient with seeded values and, when the step needs them, observes every layer with seeded
    /// a and g (also handed to <paramref name="alsoObserve"/>).</summary>
    public static void FeedStep(AdaFisherSetup setup, Random rng, Action<string, double[], int[], double[]>? alsoObserve = null)
    {
        foreach (var tensor in setup.Gradients.Values)
        {
            Random(rng, tensor.Length, 0.05).CopyTo(((NamedTensor<double>)tensor).Span);
        }

        bool observe = setup.Optimizer.NeedsObservations;
        foreach (var l in setup.Layers)
        {
            var a = Random(rng, Product(l.InputShape), 1.0);
            var g = Random(rng, Product(l.GradShape), 0.01);
            if (observe)
            {
                Assert.True(setup.Optimizer.Observe(l.Name, a, l.InputShape, g, l.ObservedGradShape));
                alsoObserve?.Invoke(l.Name, a, l.InputShape, g);
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
