using CommunityToolkit.HighPerformance;
using Curvature.Models;
using Curvature.Ekfac;
using Curvature.Kfac;
using Curvature.Layers;
using Curvature.Loss;

namespace Curvature.Tests.Ekfac;

/// <summary>
/// Random layer data (inputs, V = 2 backpropagated vectors) for a model with a Conv2d layer (S = 4), a weight-shared Linear
/// layer (S = 2), a plain Linear layer and a bias-free Linear layer; two batches of different sizes. Holds the dense
/// float64 oracle: the exact per-block Fisher <c>F = Σ_b κ_b Σ_{v,n} vec Γ vec Γᵀ</c> from per-example gradients.
/// </summary>
internal sealed class EkfacTestProblem
{
    private EkfacTestProblem(ModelSpec model, KfacOptions options, List<IReadOnlyList<EkfacLayerData<double>>> batches)
    {
        Model = model;
        Options = options;
        Batches = batches;
    }

    public ModelSpec Model { get; }

    public KfacOptions Options { get; }

    public List<IReadOnlyList<EkfacLayerData<double>>> Batches { get; }

    public static IReadOnlyList<LayerSpec> Layers() =>
    [
        LayerSpec.Conv2d("0", new Conv2dGeometry(2, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1)),
        LayerSpec.Linear("1", 3, 4),
        LayerSpec.Linear("2", 6, 5),
        LayerSpec.Linear("3", 4, 2, bias: false),
    ];

    public static EkfacTestProblem Create(bool separate, WeightSharing approximation, LossReduction reduction, int seed, int[]? batchSizes = null)
    {
        var rng = new Random(seed);
        var model = new ModelSpec(Layers(), separate);
        batchSizes ??= [5, 3];
        const int v = 2;
        var batches = new List<IReadOnlyList<EkfacLayerData<double>>>();
        foreach (int n in batchSizes)
        {
            batches.Add(
            [
                Data(rng, "0", [n, 2, 3, 3], [v, n, 3, 2, 2]),
                Data(rng, "1", [n, 2, 3], [v, n, 2, 4]),
                Data(rng, "2", [n, 6], [v, n, 5]),
                Data(rng, "3", [n, 4], [v, n, 2]),
            ]);
        }

        var options = new KfacOptions { NumData = batchSizes.Sum(), Reduction = reduction, Approximation = approximation, Fisher = FisherType.Type2 };
        return new EkfacTestProblem(model, options, batches);
    }

    public KfacFactorBuilder<double> Factors(Curvature.Backends.CurvatureBackend backend)
    {
        var f = new KfacFactorBuilder<double>(backend, Model, Options);
        foreach (var batch in Batches)
        {
            foreach (var l in batch)
            {
                f.AccumulateLayer(l.LayerName, l.Input, l.InputShape, l.Gradients, l.GradientShape);
            }
        }

        return f;
    }

    public EkfacBuilder<double> Build(Curvature.Backends.CurvatureBackend backend, EkfacCorrectionStrategy strategy = EkfacCorrectionStrategy.Automatic)
    {
        var e = new EkfacBuilder<double>(backend, Model, Options, strategy);
        e.SetFactors(Factors(backend));
        foreach (var batch in Batches)
        {
            foreach (var l in batch)
            {
                e.AccumulateLayer(l.LayerName, l.Input, l.InputShape, l.Gradients, l.GradientShape);
            }
        }

        return e;
    }

    /// <summary>Flat parameter index of entry (o, c) of a block's matrix V.</summary>
    public static int FlatIndex(KfacBlockLayout block, int o, int c)
    {
        int dIn = block.Layer.WeightInputSize;
        if (!block.HasWeight)
        {
            return block.BiasOffset + o;
        }

        return c < dIn ? block.WeightOffset + (o * dIn) + c : block.BiasOffset + o;
    }

    /// <summary>The exact block-diagonal Fisher from per-example gradients (expand format), Dimension × Dimension.</summary>
    public double[,] ExactBlockFisher()
    {
        int dim = Model.Dimension;
        var f = new double[dim, dim];
        foreach (var batch in Batches)
        {
            foreach (var data in batch)
            {
                int li = Model.LayerIndex(data.LayerName);
                var layer = Model.Layers[li];
                var shape = KfacWeightSharing.Describe(layer, data.InputShape, data.GradientShape);
                int n = shape.BatchSize, s = shape.SharedPositions, d = layer.WeightInputSize, dOut = layer.OutputSize;
                double kappa = KfacFactorBuilder<double>.LossCorrection(Options.Reduction, n, 1, Options.NumData);
                var x = new double[n * s * (d + 1)];
                KfacWeightSharing.FormatInputs(layer, data.Input, shape, WeightSharing.Expand, true, new Span2D<double>(x, n * s, d + 1));
                var g = new double[shape.Vectors * n * s * dOut];
                KfacWeightSharing.FormatGradients(layer, data.Gradients, shape, WeightSharing.Expand, new Span2D<double>(g, shape.Vectors * n * s, dOut));
                foreach (var block in Model.Blocks.Where(b => b.LayerIndex == li))
                {
                    int cols = block.Columns;
                    for (int v = 0; v < shape.Vectors; v++)
                    {
                        for (int e = 0; e < n; e++)
                        {
                            // Γ[o, c] = Σ_s g[v, e, s, o] · x[e, s, c] (bias-only: Σ_s g).
                            var gamma = new double[dOut * cols];
                            for (int p = 0; p < s; p++)
                            {
                                int gRow = (((v * n) + e) * s) + p, xRow = (e * s) + p;
                                for (int o = 0; o < dOut; o++)
                                {
                                    double go = g[(gRow * dOut) + o];
                                    if (!block.HasInputFactor)
                                    {
                                        gamma[o] += go;
                                        continue;
                                    }

                                    for (int c = 0; c < cols; c++)
                                    {
                                        gamma[(o * cols) + c] += go * x[(xRow * (d + 1)) + c];
                                    }
                                }
                            }

                            for (int a = 0; a < gamma.Length; a++)
                            {
                                int pa = FlatIndex(block, a / cols, a % cols);
                                for (int b = 0; b < gamma.Length; b++)
                                {
                                    f[pa, FlatIndex(block, b / cols, b % cols)] += kappa * gamma[a] * gamma[b];
                                }
                            }
                        }
                    }
                }
            }
        }

        return f;
    }

    private static EkfacLayerData<double> Data(Random rng, string name, int[] inputShape, int[] gradientShape) =>
        new(name, RandomArray(rng, inputShape), inputShape, RandomArray(rng, gradientShape), gradientShape);

    private static double[] RandomArray(Random rng, int[] shape)
    {
        var a = new double[shape.Aggregate(1, (p, d) => p * d)];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (rng.NextDouble() * 2) - 1;
        }

        return a;
    }
}
